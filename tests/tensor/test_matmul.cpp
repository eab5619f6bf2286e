// lab::matmul against the naive triple loop, on odd sizes and batched shapes.
#include <catch2/catch.hpp>

#include "tensor/all.h"
#include "tensor/matmul_cpu.h"

#include <cmath>

using namespace lab;

// Largest |a - b| / (|b| + 1): a mixed absolute/relative error that does not blow up near zero.
static double max_err(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double e = 0;
  for (size_t i = 0; i < a.size(); i++) e = std::max(e, std::fabs(double(a[i]) - b[i]) / (std::fabs(double(b[i])) + 1));
  return e;
}

static std::vector<float> naive(const Tensor& a, const Tensor& b) {
  int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  std::vector<float> c(size_t(M * N));
  Tensor ac = a.contiguous(), bc = b.contiguous();
  matmul_naive<float>(ac.data<float>(), bc.data<float>(), c.data(), M, N, K);
  return c;
}

TEST_CASE("matmul matches the triple loop on odd sizes") {
  Generator g(11);
  for (int64_t M : {1, 7, 33, 129})
    for (int64_t K : {1, 7, 33, 129})
      for (int64_t N : {1, 7, 33, 129}) {
        Tensor a = randn({M, K}, g), b = randn({K, N}, g);
        Tensor c = matmul(a, b);
        REQUIRE(c.shape() == Shape{M, N});
        INFO("M=" << M << " K=" << K << " N=" << N);
        CHECK(max_err(c.to_vector<float>(), naive(a, b)) < 1e-5);
      }
}

TEST_CASE("matmul on a size past the blocks and threads, and f64") {
  Generator g(12);
  Tensor a = randn({300, 513}, g), b = randn({513, 260}, g);
  CHECK(max_err(matmul(a, b).to_vector<float>(), naive(a, b)) < 1e-5);
  // f64 against the triple loop in f64: agreement to f64 rounding, far below f32's.
  Tensor ad = a.to(DType::f64), bd = b.to(DType::f64);
  std::vector<double> want(300 * 260);
  matmul_naive<double>(ad.data<double>(), bd.data<double>(), want.data(), 300, 260, 513);
  std::vector<double> got = matmul(ad, bd).to_vector<double>();
  double err = 0;
  for (size_t i = 0; i < want.size(); i++) err = std::max(err, std::fabs(got[i] - want[i]) / (std::fabs(want[i]) + 1));
  CHECK(err < 1e-12);
}

TEST_CASE("matmul of transposed views") {
  Generator g(13);
  Tensor a = randn({9, 5}, g), b = randn({7, 9}, g);
  // a^T b^T = (b a)^T
  Tensor c = matmul(a.t(), b.t());
  Tensor want = matmul(b, a).t().contiguous();
  CHECK(c.to_vector<float>() == want.to_vector<float>());
}

TEST_CASE("batched matmul broadcasts batch dims") {
  Generator g(14);
  Tensor a = randn({2, 1, 5, 3}, g);
  Tensor b = randn({4, 3, 6}, g);
  Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 4, 5, 6});
  for (int64_t i = 0; i < 2; i++)
    for (int64_t j = 0; j < 4; j++) {
      std::vector<float> want = naive(a.select(0, i).select(0, 0), b.select(0, j));
      CHECK(max_err(c.select(0, i).select(0, j).contiguous().to_vector<float>(), want) < 1e-6);
    }
  // A 2-D matrix against a batch, and the reverse.
  Tensor w = randn({3, 6}, g);
  Tensor x = randn({4, 5, 3}, g);
  Tensor y = matmul(x, w);
  REQUIRE(y.shape() == Shape{4, 5, 6});
  CHECK(max_err(y.select(0, 3).contiguous().to_vector<float>(), naive(x.select(0, 3), w)) < 1e-6);
}

TEST_CASE("matmul with vectors drops their dim, as torch.matmul") {
  Tensor m = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor v = from_vector<float>({1, 0, -1});
  CHECK(matmul(m, v).shape() == Shape{2});
  CHECK(matmul(m, v).to_vector<float>() == std::vector<float>{-2, -2});
  CHECK(matmul(from_vector<float>({1, 1}), m).to_vector<float>() == std::vector<float>{5, 7, 9});
  CHECK(matmul(v, v).shape() == Shape{});
  CHECK(matmul(v, v).item<float>() == 2);
  CHECK(matmul(zeros({2, 0}), zeros({0, 3})).to_vector<float>() == std::vector<float>(6, 0.0f));
}

TEST_CASE("matmul errors name both shapes") {
  CHECK_THROWS_WITH(matmul(zeros({2, 3}), zeros({4, 5})), Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), Catch::Contains("cannot be broadcast"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2}), zeros({2, 2}, DType::f64)), Catch::Contains("dtypes differ"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2}, DType::bf16), zeros({2, 2}, DType::bf16)), Catch::Contains("HINT"));
  CHECK_THROWS_WITH(matmul(scalar(1), zeros({2})), Catch::Contains("at least 1 dim"));
}
