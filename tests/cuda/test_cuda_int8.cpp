// The int8 kernels of cuda/int8.cu against their CPU references in quant/, on the same inputs.
//
// Quantize, dequantize, the int32 matmul (every numbered version, called directly) and its
// dequantization share their formulas with the CPU (cuda/int8_ops.h) and round once per operation,
// so they must give the same bits. Only LLM.int8()'s outlier path goes through the f32 matmul, whose
// sums run in another order on the GPU: that one is compared within a tolerance.
// Run only where a GPU is present: cuda_test_main.cpp skips them elsewhere.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "cuda/int8.h"
#include "nn/linear.h"
#include "quant/int8.h"
#include "quant/int8_matmul.h"
#include "quant/linear8bit.h"
#include "tensor/all.h"

#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

using namespace lab;
using namespace lab::quant;

namespace {

const Device gpu = Device::cuda(0);
const Device cpu = Device::cpu();

// Same dtype, shape and bytes.
void require_same_bits(const Tensor& got_any, const Tensor& want_any) {
  const Tensor got = got_any.to(cpu).contiguous(), want = want_any.to(cpu).contiguous();
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(got.shape() == want.shape());
  const auto* g = static_cast<const unsigned char*>(got.raw_data());
  const auto* w = static_cast<const unsigned char*>(want.raw_data());
  const size_t size = got.element_size();
  const std::vector<double> gv = got.to_vector<double>(), wv = want.to_vector<double>();
  for (size_t i = 0; i < gv.size(); i++)
    if (std::memcmp(g + i * size, w + i * size, size) != 0)
      FAIL(dtype_name(got.dtype()) << " element " << i << " of " << gv.size() << " differs: got " << gv[i] << ", want " << wv[i]);
}

// Normals at several scales, exact ties (k + 0.5 in units of the step), zeros and a zero row.
Tensor test_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  Generator gen(seed);
  Tensor x = randn({rows, cols}, gen);
  float* p = x.data<float>();
  for (int64_t i = 0; i < rows * cols; i++) {
    if (i % 7 == 3) p[i] = float(int(gen.next_u32() % 255) - 127) + 0.5f;  // ties when the row's absmax is 127
    if (i % 11 == 5) p[i] = 0.0f;
    if (i % 13 == 0) p[i] *= 30.0f;
  }
  if (rows > 2)
    for (int64_t j = 0; j < cols; j++) p[cols + j] = 0.0f;  // row 1 all zero
  if (rows > 3)
    for (int64_t j = 0; j < cols; j++) p[3 * cols + j] = j == 0 ? 127.0f : float(j % 254) - 127.0f + 0.5f;  // absmax 127: scale 1, ties
  return x;
}

std::vector<int8_t> random_codes(int64_t n, Generator& gen) {
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (auto& c : v) c = int8_t(int(gen.next_u32() % 256) - 128);
  return v;
}

}  // namespace

TEST_CASE("cuda int8 quantize and dequantize equal the CPU bit for bit, every scheme and granularity") {
  for (int64_t rows : {1, 7, 33})
    for (int64_t cols : {1, 5, 64, 129, 1000}) {
      const Tensor x = test_matrix(rows, cols, uint64_t(rows * 1000 + cols));
      const Tensor xg = x.to(gpu);
      for (Int8Scheme s : {Int8Scheme::absmax, Int8Scheme::zero_point})
        for (Granularity g : {Granularity::per_tensor, Granularity::per_row, Granularity::per_block}) {
          const int64_t block = cols % 64 == 0 ? 32 : cols % 5 == 0 ? 5 : cols;  // a divisor of cols
          INFO(scheme_name(s) << " " << granularity_name(g) << " on [" << rows << ", " << cols << "], block " << block);
          const Int8Tensor want = quantize_int8(x, s, g, block);
          const Int8Tensor got = quantize_int8(xg, s, g, block);
          REQUIRE(got.q.device() == gpu);
          require_same_bits(got.q, want.q);
          require_same_bits(got.scale, want.scale);
          if (s == Int8Scheme::zero_point) require_same_bits(got.zero_point, want.zero_point);
          require_same_bits(dequantize(got), dequantize(want));
        }
    }
}

TEST_CASE("cuda quantize_rows (LLM.int8 vector-wise) equals the CPU, codes and absmax") {
  for (int64_t rows : {1, 7, 33, 300})
    for (int64_t cols : {1, 5, 129, 1000}) {
      const Tensor x = test_matrix(rows, cols, uint64_t(rows + cols));
      const Int8Rows want = quantize_rows(x), got = quantize_rows(x.to(gpu));
      require_same_bits(got.q, want.q);
      require_same_bits(got.absmax, want.absmax);
      require_same_bits(dequantize_rows(got), dequantize_rows(want));
    }
}

TEST_CASE("cuda int8 matmul: every numbered version is exact against the CPU reference") {
  using Version = void (*)(int32_t*, const int8_t*, const int8_t*, int64_t, int64_t, int64_t);
  const std::vector<std::pair<const char*, Version>> versions = {
      {"v1_naive", cuda::int8_matmul_v1_naive}, {"v2_smem_tiled", cuda::int8_matmul_v2_smem_tiled}, {"v3_dp4a", cuda::int8_matmul_v3_dp4a}};
  const std::vector<std::array<int64_t, 3>> shapes = {{1, 1, 1}, {7, 5, 3}, {33, 65, 129}, {64, 128, 1000}, {100, 31, 4096}};
  Generator gen(17);
  for (const auto& [M, N, K] : shapes) {
    const std::vector<int8_t> a = random_codes(M * K, gen), b = random_codes(N * K, gen);
    std::vector<int32_t> want(size_t(M * N));
    int8_matmul_ref(want.data(), a.data(), b.data(), M, N, K);
    const Tensor ag = from_vector(a, {M, K}, gpu), bg = from_vector(b, {N, K}, gpu);
    for (const auto& [name, run] : versions) {
      INFO(name << " at M " << M << ", N " << N << ", K " << K);
      Tensor c = Tensor::empty({M, N}, DType::i32, gpu);
      run(c.data<int32_t>(), ag.data<int8_t>(), bg.data<int8_t>(), M, N, K);
      require_same_bits(c, from_vector(want, {M, N}));
    }
    require_same_bits(int8_matmul(ag, bg), from_vector(want, {M, N}));  // the Tensor API's choice
  }
}

TEST_CASE("cuda dequantize_matmul equals the CPU bit for bit, with and without bias") {
  Generator gen(19);
  const int64_t M = 37, N = 300;
  std::vector<int32_t> c(size_t(M * N));
  for (auto& v : c) v = int32_t(gen.next_u32() % 2000001) - 1000000;
  const Tensor ct = from_vector(c, {M, N}), sx = mul(abs(randn({M}, gen)), 5.0), sw = abs(randn({N}, gen)), bias = randn({N}, gen);
  require_same_bits(dequantize_matmul(ct.to(gpu), sx.to(gpu), sw.to(gpu), bias.to(gpu)), dequantize_matmul(ct, sx, sw, bias));
  require_same_bits(dequantize_matmul(ct.to(gpu), sx.to(gpu), sw.to(gpu)), dequantize_matmul(ct, sx, sw));
}

TEST_CASE("cuda LLM.int8 matmul with outliers matches the CPU") {
  Generator gen(23);
  Tensor x = randn({48, 320}, gen);
  for (int64_t c : {0, 17, 18, 319})
    for (int64_t r = 0; r < 48; r++) x.at<float>({r, c}) *= 20.0f;
  const Tensor w = mul(randn({96, 320}, gen), 0.05), bias = randn({96}, gen);
  const Int8Rows wq = quantize_rows(w);
  const Int8Rows wq_gpu{wq.q.to(gpu), wq.absmax.to(gpu)};
  for (double threshold : {0.0, 6.0}) {
    std::vector<int64_t> want_cols, got_cols;
    const Tensor want = llm_int8_matmul(x, wq, bias, threshold, &want_cols);
    const Tensor got = llm_int8_matmul(x.to(gpu), wq_gpu, bias.to(gpu), threshold, &got_cols);
    CHECK(got_cols == want_cols);
    // the int8 part is exact; the f32 outlier part sums in another order: allow a few ulps of its size
    const std::vector<float> g = got.to_vector<float>(), v = want.to_vector<float>();
    for (size_t i = 0; i < v.size(); i++) REQUIRE(std::abs(g[i] - v[i]) <= 1e-5f * (1.0f + std::abs(v[i])));
  }
}

TEST_CASE("cuda Linear8bit: forward and input gradient match the CPU") {
  Generator gen(29);
  nn::Linear linear(200, 72, gen);
  Linear8bit cpu_layer(linear), gpu_layer(linear);
  gpu_layer.to(gpu);
  REQUIRE(gpu_layer.parameter("weight").device() == gpu);
  require_same_bits(gpu_layer.parameter("weight"), cpu_layer.parameter("weight"));
  const Tensor x = randn({3, 5, 200}, gen), r = randn({3, 5, 72}, gen);
  const Tensor xc = ag::set_requires_grad(x.clone(), true, "x"), xg = ag::set_requires_grad(x.to(gpu), true, "x");
  const Tensor yc = cpu_layer.forward(xc), yg = gpu_layer.forward(xg);
  const std::vector<float> a = yg.to_vector<float>(), b = yc.to_vector<float>();
  for (size_t i = 0; i < b.size(); i++) REQUIRE(std::abs(a[i] - b[i]) <= 1e-5f * (1.0f + std::abs(b[i])));
  ag::backward(ag::sum(ag::mul(yc, r)));
  ag::backward(ag::sum(ag::mul(yg, r.to(gpu))));
  const std::vector<float> gg = ag::grad(xg).to_vector<float>(), gc = ag::grad(xc).to_vector<float>();
  for (size_t i = 0; i < gc.size(); i++) REQUIRE(std::abs(gg[i] - gc[i]) <= 1e-4f * (1.0f + std::abs(gc[i])));
}
