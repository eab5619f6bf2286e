// The vectorized CPU paths of tensor/elementwise.cpp (gelu and gelu_grad on contiguous f32 with a
// rational tanh; add/sub/mul/div on whole or suffix-repeated f32 operands) against the same ops in
// f64, which take the generic scalar paths.
#include <catch2/catch.hpp>

#include "tensor/all.h"

#include <cmath>

using namespace lab;

// x from -12 to 12 (past tanh's saturation at 7.9 either way) in steps of 1/1024, plus 0 and tiny values.
static Tensor gelu_inputs() {
  std::vector<float> v;
  for (int i = -12 * 1024; i <= 12 * 1024; i++) v.push_back(float(i) / 1024.0f);
  for (float t : {1e-30f, -1e-30f, 1e-6f, -3e-4f, 0.0f}) v.push_back(t);
  return from_vector<float>(v);
}

TEST_CASE("f32 gelu and gelu_grad agree with the f64 formula") {
  Tensor x = gelu_inputs();
  Tensor xd = x.to(DType::f64);
  // The rational tanh is within 4e-7 of tanh; the rest of the formula adds a few f32 roundings:
  // allow 2e-6 * (1 + |x|), an absolute error for gelu's values near 0 and a relative one past it.
  for (bool grad : {false, true}) {
    INFO((grad ? "gelu_grad" : "gelu"));
    std::vector<float> got = (grad ? gelu_grad(x) : gelu(x)).to_vector<float>();
    std::vector<double> want = (grad ? gelu_grad(xd) : gelu(xd)).to_vector<double>();
    std::vector<float> xs = x.to_vector<float>();
    double worst = 0;
    for (size_t i = 0; i < got.size(); i++) worst = std::max(worst, std::fabs(got[i] - want[i]) / (1 + std::fabs(double(xs[i]))));
    CHECK(worst < 2e-6);
  }
  // Exact where the formula is: gelu(0) = 0, gelu'(0) = 0.5; gelu(x) = x and gelu'(x) = 1 far right, 0 far left.
  Tensor edges = from_vector<float>({0.0f, 20.0f, -20.0f});
  CHECK(gelu(edges).to_vector<float>() == std::vector<float>{0.0f, 20.0f, -0.0f});
  CHECK(gelu_grad(edges).to_vector<float>() == std::vector<float>{0.5f, 1.0f, 0.0f});
}

TEST_CASE("gelu of a large tensor runs the threaded chunks") {
  Generator g(5);
  Tensor x = randn({3, 40000}, g);  // 120000 elements: several 16384-element chunks, and a short last one
  std::vector<float> got = gelu(x).to_vector<float>();
  std::vector<double> want = gelu(x.to(DType::f64)).to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < got.size(); i++) worst = std::max(worst, std::fabs(got[i] - want[i]));
  CHECK(worst < 2e-5);
}

TEST_CASE("f32 add, sub, mul, div with a repeated suffix agree with f64") {
  Generator g(6);
  struct Case { Shape a, b; };
  // whole + whole, bias [C] and [1, 1, C] on either side, a short row (generic path), a [B, T, 1] column (generic path)
  for (Case c : {Case{{5, 7, 40}, {5, 7, 40}}, Case{{5, 7, 40}, {40}}, Case{{1, 1, 40}, {5, 7, 40}}, Case{{300, 200}, {200}},
                 Case{{5, 7, 40}, {7, 40}}, Case{{6, 8}, {8}}, Case{{5, 7, 40}, {5, 7, 1}}, Case{{70000}, {70000}}}) {
    Tensor a = randn(c.a, g), b = add(rand(c.b, g), 0.5);  // b in [0.5, 1.5): safe to divide by
    Tensor ad = a.to(DType::f64), bd = b.to(DType::f64);
    for (int op = 0; op < 4; op++) {
      INFO("a " << shape_str(c.a) << " b " << shape_str(c.b) << " op " << op);
      Tensor got = op == 0 ? add(a, b) : op == 1 ? sub(a, b) : op == 2 ? mul(a, b) : div(a, b);
      Tensor want = op == 0 ? add(ad, bd) : op == 1 ? sub(ad, bd) : op == 2 ? mul(ad, bd) : div(ad, bd);
      REQUIRE(got.shape() == want.shape());
      std::vector<float> gv = got.to_vector<float>();
      std::vector<double> wv = want.to_vector<double>();
      double worst = 0;
      for (size_t i = 0; i < gv.size(); i++) worst = std::max(worst, std::fabs(gv[i] - wv[i]) / (1 + std::fabs(wv[i])));
      CHECK(worst < 1e-6);  // one f32 rounding of each input and of the result
    }
  }
}
