// int8 quantization (quant/int8.h, int8_matmul.h, linear8bit.h) on the CPU: rounding on ties, known
// vectors for every granularity, zero-point on skewed data, the exact int32 matmul, LLM.int8()'s
// outlier decomposition, error ceilings on N(0,1) data (as ggml's quantization tests hold each
// format under one), Linear8bit against nn::Linear, memory from the allocator, and bad inputs.
// The GPU kernels are held to these CPU results in tests/cuda/test_cuda_int8.cpp.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "cuda/int8_ops.h"
#include "autograd/ops.h"
#include "nn/linear.h"
#include "quant/int8.h"
#include "quant/int8_matmul.h"
#include "quant/linear8bit.h"
#include "tensor/all.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace lab;
using namespace lab::quant;
using Catch::Matchers::Contains;

namespace {

std::vector<int> codes(const Tensor& q) {
  std::vector<int> out;
  for (int8_t v : q.to_vector<int8_t>()) out.push_back(v);
  return out;
}

// N(0,1) data with a few columns multiplied up to LLM.int8()'s outlier sizes (|x| up to ~60).
Tensor with_outlier_columns(int64_t rows, int64_t cols, const std::vector<int64_t>& outliers, Generator& gen) {
  Tensor x = randn({rows, cols}, gen);
  for (int64_t c : outliers)
    for (int64_t r = 0; r < rows; r++) x.at<float>({r, c}) *= 15.0f;
  return x;
}

}  // namespace

TEST_CASE("int8 rounds half to even on ties, in units of the scale") {
  // absmax 127 makes the scale exactly 1, so x is its own code before rounding
  const Tensor x = from_vector<float>({127, 0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, 126.5f, 0.49f});
  const Int8Tensor t = quantize_int8(x, Int8Scheme::absmax, Granularity::per_tensor);
  CHECK(t.scale.item<float>() == 1.0f);
  CHECK(codes(t.q) == std::vector<int>{127, 0, 2, 2, 4, 0, -2, -2, 126, 0});
  // and through the scalar reference codec directly
  std::vector<int8_t> q(10);
  CHECK(quantize_absmax_ref(x.data<float>(), 10, q.data()) == 127.0f);
  CHECK(int(q[3]) == 2);
}

TEST_CASE("the CPU's branch-free rounding is std::rint's, clamp included") {
  // every quarter step in [-300, 300] (ties at every half), then random values in the same range
  std::vector<float> values;
  for (int k = -1200; k <= 1200; k++) values.push_back(float(k) / 4.0f);
  Generator gen(2);
  for (int i = 0; i < 100000; i++) values.push_back(600.0f * (gen.uniform() - 0.5f));
  int mismatches = 0;
  for (float v : values) {
    const float clamped = std::min(std::max(v, -255.0f), 255.0f);
    if (lab::cuda::int8::round_clamped(v, -255.0f, 255.0f) != int(std::rint(clamped))) {
      if (mismatches++ < 5) WARN("round_clamped(" << v << ") = " << lab::cuda::int8::round_clamped(v, -255.0f, 255.0f));
    }
  }
  CHECK(mismatches == 0);
  CHECK(lab::cuda::int8::round_clamped(NAN, -127.0f, 127.0f) == -127);  // a NaN becomes the low end, on both devices
}

TEST_CASE("absmax per tensor, per row and per block on known vectors") {
  // row 0 has absmax 127 (scale 1), row 1 absmax 254 (scale 2): every product below is exact
  const Tensor x = from_vector<float>({127, -3, 2.5f, 0.4f, 254, -10, 3, -1}, {2, 4});
  SECTION("per tensor: one scale, 254 / 127 = 2") {
    const Int8Tensor t = quantize_int8(x, Int8Scheme::absmax, Granularity::per_tensor);
    CHECK(t.group_size == 8);
    CHECK(t.scale.to_vector<float>() == std::vector<float>{2.0f});
    CHECK(codes(t.q) == std::vector<int>{64, -2, 1, 0, 127, -5, 2, 0});  // 63.5 -> 64, -1.5 -> -2, 1.5 -> 2, -0.5 -> 0
  }
  SECTION("per row: scales 1 and 2") {
    const Int8Tensor t = quantize_int8(x, Int8Scheme::absmax, Granularity::per_row);
    CHECK(t.scale.to_vector<float>() == std::vector<float>{1.0f, 2.0f});
    CHECK(codes(t.q) == std::vector<int>{127, -3, 2, 0, 127, -5, 2, 0});
  }
  SECTION("per block of 2: four scales") {
    const Int8Tensor t = quantize_int8(x, Int8Scheme::absmax, Granularity::per_block, 2);
    CHECK(t.scale.to_vector<float>() == std::vector<float>{1.0f, 2.5f / 127.0f, 2.0f, 3.0f / 127.0f});
    CHECK(codes(t.q) == std::vector<int>{127, -3, 127, 20, 127, -5, 127, -42});  // 0.4 * 127/2.5 = 20.3, -127/3 = -42.3
  }
  SECTION("dequantized values are within half a step of the original") {
    for (Granularity g : {Granularity::per_tensor, Granularity::per_row, Granularity::per_block}) {
      const Int8Tensor t = quantize_int8(x, Int8Scheme::absmax, g, 2);
      const std::vector<float> back = dequantize(t).to_vector<float>(), orig = x.to_vector<float>(), scale = t.scale.to_vector<float>();
      for (size_t i = 0; i < orig.size(); i++) CHECK(std::fabs(back[i] - orig[i]) <= 0.5f * scale[i / size_t(t.group_size)] * 1.0001f);
    }
  }
}

TEST_CASE("zero-point on known vectors: min(x, 0)..max(x, 0) onto the codes -128..127, zero exact") {
  const Int8Tensor t = quantize_int8(from_vector<float>({-1, 0, 254, 100}), Int8Scheme::zero_point, Granularity::per_tensor);
  CHECK(t.scale.item<float>() == 1.0f);  // (254 - (-1)) / 255
  CHECK(int(t.zero_point.item<int8_t>()) == -127);  // -128 - round(-1 / 1)
  CHECK(codes(t.q) == std::vector<int>{-128, -127, 127, -27});
  CHECK(dequantize(t).to_vector<float>() == std::vector<float>{-1, 0, 254, 100});
  // all positive: lo is 0, so the zero point is -128 and 0 is still code -128 exactly
  const Int8Tensor p = quantize_int8(from_vector<float>({5, 10, 0}), Int8Scheme::zero_point, Granularity::per_tensor);
  CHECK(int(p.zero_point.item<int8_t>()) == -128);
  CHECK(dequantize(p).to_vector<float>()[2] == 0.0f);
}

TEST_CASE("zero-point beats absmax on skewed (all-positive) data") {
  Generator gen(3);
  const Tensor x = abs(randn({64, 256}, gen));  // half-normal: absmax wastes the negative codes
  for (Granularity g : {Granularity::per_tensor, Granularity::per_row, Granularity::per_block}) {
    const QuantError sym = quant_error(x, dequantize(quantize_int8(x, Int8Scheme::absmax, g)));
    const QuantError asym = quant_error(x, dequantize(quantize_int8(x, Int8Scheme::zero_point, g)));
    INFO(granularity_name(g) << ": absmax rmse " << sym.rmse << ", zero-point rmse " << asym.rmse);
    // 255 steps over the range instead of 127: about half the error
    CHECK(asym.rmse < 0.6 * sym.rmse);
  }
}

TEST_CASE("an all-zero group gets scale 0 and comes back as exact zeros") {
  const Tensor x = from_vector<float>({0, 0, 0, 0, 1, -2, 3, 4}, {2, 4});
  for (Int8Scheme s : {Int8Scheme::absmax, Int8Scheme::zero_point}) {
    const Int8Tensor t = quantize_int8(x, s, Granularity::per_row);
    CHECK(t.scale.to_vector<float>()[0] == 0.0f);
    const std::vector<float> back = dequantize(t).to_vector<float>();
    for (int i = 0; i < 4; i++) CHECK(back[size_t(i)] == 0.0f);
  }
}

TEST_CASE("error ceilings on N(0,1) data, per granularity") {
  // 256 x 1024 normals (seed 0). Rounding error is uniform in half a step, so rmse ~ step / sqrt(12)
  // with step = absmax / 127: absmax ~4.5 over 262144 values, ~3.3 over a row of 1024, ~2.4 over 64.
  // Zero-point gains little here: on symmetric data its range max - min is close to 2 absmax.
  // Measured: per-tensor 0.01001, per-row 0.00785, per-block-64 0.00592, zero-point per-block-64 0.00536.
  // Ceilings: the measured values plus about 10 percent.
  Generator gen(0);
  const Tensor x = randn({256, 1024}, gen);
  auto rmse = [&](Int8Scheme s, Granularity g) { return quant_error(x, dequantize(quantize_int8(x, s, g, 64))).rmse; };
  const double tensor = rmse(Int8Scheme::absmax, Granularity::per_tensor);
  const double row = rmse(Int8Scheme::absmax, Granularity::per_row);
  const double block = rmse(Int8Scheme::absmax, Granularity::per_block);
  const double zp_block = rmse(Int8Scheme::zero_point, Granularity::per_block);
  INFO("per-tensor " << tensor << ", per-row " << row << ", per-block-64 " << block << ", zero-point per-block-64 " << zp_block);
  CHECK(tensor < 0.0110);
  CHECK(row < 0.0086);
  CHECK(block < 0.0065);
  CHECK(zp_block < 0.0059);
  CHECK(zp_block < block);
  CHECK(block < row);
  CHECK(row < tensor);
}

TEST_CASE("int8 matmul is exact against an integer reference") {
  Generator gen(5);
  const int64_t M = 7, N = 5, K = 300;
  std::vector<int8_t> a(size_t(M * K)), b(size_t(N * K));
  for (auto& v : a) v = int8_t(int(gen.next_u32() % 256) - 128);  // every code, -128 included
  for (auto& v : b) v = int8_t(int(gen.next_u32() % 256) - 128);
  const Tensor c = int8_matmul(from_vector(a, {M, K}), from_vector(b, {N, K}));
  REQUIRE(c.dtype() == DType::i32);
  REQUIRE(c.shape() == Shape{M, N});
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      int64_t want = 0;
      for (int64_t k = 0; k < K; k++) want += int64_t(a[size_t(i * K + k)]) * int64_t(b[size_t(j * K + k)]);
      REQUIRE(int64_t(c.at<int32_t>({i, j})) == want);
    }
}

TEST_CASE("dequantize_matmul is C times the row absmax of x and of W over 127^2, plus the bias") {
  const Tensor c = from_vector<int32_t>({16129, -16129, 100, 0}, {2, 2});
  const Tensor y = dequantize_matmul(c, from_vector<float>({1, 2}), from_vector<float>({3, 4}), from_vector<float>({0.5f, -1}));
  const std::vector<float> v = y.to_vector<float>();
  CHECK(v[0] == Approx(1 * 3 + 0.5).epsilon(1e-7));
  CHECK(v[1] == Approx(-1 * 4 - 1).epsilon(1e-7));
  CHECK(v[2] == Approx(100.0 * 2 * 3 / 16129 + 0.5).epsilon(1e-7));
  CHECK(v[3] == -1.0f);
}

TEST_CASE("vector-wise int8 matmul is close to f32, and quantize_rows is per-row absmax") {
  Generator gen(7);
  const Tensor x = randn({16, 64}, gen), w = randn({32, 64}, gen);
  const Int8Rows wq = quantize_rows(w);
  const Int8Tensor per_row = quantize_int8(w, Int8Scheme::absmax, Granularity::per_row);
  CHECK(codes(wq.q) == codes(per_row.q));
  CHECK(quant_error(dequantize_rows(wq), dequantize(per_row)).max_abs == 0);
  const QuantError e = quant_error(matmul(x, w.t()), llm_int8_matmul(x, wq, Tensor(), 0.0));
  INFO("relative Frobenius error " << e.rel_frobenius);
  CHECK(e.rel_frobenius < 0.02);
}

TEST_CASE("LLM.int8 outlier decomposition: finds the outlier columns and lowers the error") {
  Generator gen(11);
  const std::vector<int64_t> planted = {3, 50, 51, 200};
  const Tensor x = with_outlier_columns(64, 256, planted, gen);
  const Tensor w = mul(randn({128, 256}, gen), 0.05);
  const Int8Rows wq = quantize_rows(w);
  const Tensor exact = matmul(x, w.t());
  CHECK(outlier_columns(x, 6.0) == planted);
  CHECK(outlier_columns(x, 0.0).empty());
  std::vector<int64_t> used;
  const QuantError plain = quant_error(exact, llm_int8_matmul(x, wq, Tensor(), 0.0, &used));
  CHECK(used.empty());
  const QuantError split = quant_error(exact, llm_int8_matmul(x, wq, Tensor(), 6.0, &used));
  CHECK(used == planted);
  INFO("relative Frobenius error: plain int8 " << plain.rel_frobenius << ", with the decomposition " << split.rel_frobenius);
  CHECK(split.rel_frobenius < plain.rel_frobenius / 3);
  CHECK(split.rel_frobenius < 0.01);
}

TEST_CASE("Linear8bit matches nn::Linear within 2 percent, with frozen int8 weights and a gradient to the input") {
  Generator gen(13);
  nn::Linear linear(256, 64, gen);
  const Tensor x = randn({2, 8, 256}, gen);
  Tensor want;
  {
    ag::NoGradGuard no_grad;
    want = linear.forward(x);
  }
  Linear8bit q(linear);
  CHECK(q.parameter("weight").dtype() == DType::i8);
  CHECK(q.parameter("SCB").shape() == Shape{64});
  CHECK(q.num_parameters(true) == 0);  // nothing trainable
  const Tensor xg = ag::set_requires_grad(x.clone(), true, "x");
  const Tensor y = q.forward(xg);
  REQUIRE(y.shape() == Shape{2, 8, 64});
  const QuantError e = quant_error(want, y);
  INFO("relative Frobenius error " << e.rel_frobenius);
  CHECK(e.rel_frobenius < 0.02);
  // dL/dx for L = sum(y * r) equals the gradient through the dequantized weight: r W'
  const Tensor r = randn({2, 8, 64}, gen);
  ag::backward(ag::sum(ag::mul(y, r)));
  const Tensor want_grad = matmul(r, dequantize_rows(q.weight()));
  CHECK(quant_error(want_grad, ag::grad(xg)).max_abs < 1e-5);
  CHECK_FALSE(ag::grad(q.parameter("bias")).defined());
}

TEST_CASE("int8 copies are allocator-owned: memory_stats shows the saving") {
  Generator gen(1);
  const Tensor w = randn({512, 1024}, gen);
  const size_t before = memory_stats(Device::cpu()).current;
  const Int8Tensor t = quantize_int8(w, Int8Scheme::absmax, Granularity::per_row);
  const size_t held = memory_stats(Device::cpu()).current - before;
  CHECK(t.nbytes() == 512 * 1024 + 512 * 4);
  CHECK(held == t.nbytes());
  CHECK(double(held) / double(w.nbytes()) < 0.26);
}

TEST_CASE("bad inputs give a lab::Error that says what is wrong") {
  const Tensor x = zeros({4, 6});
  CHECK_THROWS_WITH(quantize_int8(x, Int8Scheme::absmax, Granularity::per_block, 0), Contains("block_size must be positive"));
  CHECK_THROWS_WITH(quantize_int8(x, Int8Scheme::absmax, Granularity::per_block, 4), Contains("does not divide the last dim 6"));
  CHECK_THROWS_AS(quantize_int8(x, Int8Scheme::absmax, Granularity::per_block, -2), Error);
  CHECK_THROWS_WITH(quantize_int8(zeros({4}, DType::i64), Int8Scheme::absmax, Granularity::per_row), Contains("floating-point"));
  CHECK_THROWS_WITH(quantize_int8(scalar(1.0), Int8Scheme::absmax, Granularity::per_row), Contains("at least one dim"));
  Int8Tensor t = quantize_int8(x, Int8Scheme::absmax, Granularity::per_row);
  t.scheme = Int8Scheme::zero_point;
  CHECK_THROWS_WITH(dequantize(t), Contains("needs zero points"));
  CHECK_THROWS_WITH(int8_matmul(x, x), Contains("must be i8"));
  const Tensor a = zeros({2, 3}, DType::i8), b = zeros({4, 5}, DType::i8);
  CHECK_THROWS_WITH(int8_matmul(a, b), Contains("do not fit"));
  CHECK_THROWS_WITH(int8_matmul(zeros({1, 200000}, DType::i8), zeros({1, 200000}, DType::i8)), Contains("overflow"));
  CHECK_THROWS_WITH(quantize_rows(zeros({2, 3, 4})), Contains("2-D"));
  CHECK_THROWS_WITH(llm_int8_matmul(zeros({2, 5}), quantize_rows(zeros({3, 6}))), Contains("do not fit"));
  Generator gen(0);
  nn::Linear linear(6, 3, gen);
  Linear8bit q(linear);
  CHECK_THROWS_WITH(q.forward(zeros({2, 5})), Contains("has 5 features, expected 6"));
  CHECK_THROWS_WITH(q.forward(zeros({2, 6}, DType::f64)), Contains("must be f32"));
}
