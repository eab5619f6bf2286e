// The NF4 kernels (cuda/nf4.cu) against their CPU references in quant/: quantize, dequantize,
// dequantize into the transpose, the double-quantization statistics, and Linear4bit forward and
// backward. The kernels round every step as the CPU does, so codes, absmax and dequantized values
// must be the same bytes; only the matmul of Linear4bit (another summation order) gets a tolerance.
// Run only where a GPU is present: cuda_test_main.cpp skips them elsewhere.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "cuda/nf4.h"
#include "quant/linear4bit.h"
#include "quant/nf4.h"
#include "tensor/all.h"

#include <cmath>
#include <cstring>

using namespace lab;
using namespace lab::quant;

namespace {

const Device gpu = Device::cuda(0);

std::vector<uint8_t> bytes_of(const Tensor& t_any) {
  const Tensor t = t_any.to(Device::cpu()).contiguous();
  const auto* p = static_cast<const uint8_t*>(t.raw_data());
  return std::vector<uint8_t>(p, p + t.nbytes());
}

// Normal values times a scale, with an all-zero block and a block of exact midpoints when there is room.
Tensor test_values(int64_t n, int64_t blocksize, uint64_t seed) {
  Generator g(seed);
  Tensor x = mul(randn({n}, g), 3.0);
  float* v = x.data<float>();
  if (n >= 3 * blocksize) {
    std::fill(v + blocksize, v + 2 * blocksize, 0.0f);
    v[2 * blocksize] = 1.0f;
    for (int i = 0; i < 15 && i + 1 < blocksize; i++) v[2 * blocksize + 1 + i] = nf4_thresholds()[size_t(i)];
    for (int64_t i = 2 * blocksize + 16; i < 3 * blocksize; i++) v[i] = 0.1f * float(i % 9) - 0.4f;  // |v| < 1: absmax stays 1
  }
  return x;
}

// max |a - b| <= rtol * max |b|
void require_close(const Tensor& a_any, const Tensor& b_any, double rtol, const std::string& what) {
  const std::vector<double> a = a_any.to_vector<double>(), b = b_any.to_vector<double>();
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); i++) diff = std::max(diff, std::fabs(a[i] - b[i])), scale = std::max(scale, std::fabs(b[i]));
  INFO(what << ": max |gpu - cpu| = " << diff << ", max |cpu| = " << scale);
  CHECK(diff <= rtol * scale);
}

}  // namespace

TEST_CASE("NF4 quantize and dequantize on the GPU give the CPU's bytes") {
  for (int64_t blocksize : {32, 64, 256, 4096}) {
    for (int64_t n : {int64_t(1), int64_t(3), int64_t(64), int64_t(65), int64_t(1001), int64_t(4096 * 33 + 7)}) {
      DYNAMIC_SECTION("block " << blocksize << ", n " << n) {
        const Tensor x = test_values(n, blocksize, uint64_t(n + blocksize));
        for (bool dq : {false, true}) {
          const NF4Tensor cpu = quantize_nf4(x, blocksize, dq);
          const NF4Tensor on_gpu = quantize_nf4(x.to(gpu), blocksize, dq);
          REQUIRE(on_gpu.device() == gpu);
          CHECK(bytes_of(on_gpu.packed) == bytes_of(cpu.packed));
          if (dq) {
            CHECK(on_gpu.nested.offset == cpu.nested.offset);
            CHECK(bytes_of(on_gpu.nested.codes) == bytes_of(cpu.nested.codes));
            CHECK(bytes_of(on_gpu.nested.absmax2) == bytes_of(cpu.nested.absmax2));
          } else {
            CHECK(bytes_of(on_gpu.absmax) == bytes_of(cpu.absmax));
          }
          CHECK(bytes_of(dequantize_nf4(on_gpu)) == bytes_of(dequantize_nf4(cpu)));
          CHECK(bytes_of(dequantize_nf4(cpu.to(gpu))) == bytes_of(dequantize_nf4(cpu)));  // the GPU dequantizes CPU codes alike
        }
      }
    }
  }
}

TEST_CASE("double-quantization statistics on the GPU: the offset's sums in the CPU's order, the same codes") {
  for (int64_t n : {int64_t(1), int64_t(255), int64_t(256), int64_t(257), int64_t(100003)}) {
    DYNAMIC_SECTION("n " << n) {
      Generator g{uint64_t(n)};
      const Tensor absmax = add(abs(randn({n}, g)), 2.0);  // positive, around 2.8, as block absmaxes are
      const DoubleQuant cpu = double_quantize(absmax);
      const DoubleQuant on_gpu = double_quantize(absmax.to(gpu));
      CHECK(on_gpu.offset == cpu.offset);
      CHECK(bytes_of(on_gpu.codes) == bytes_of(cpu.codes));
      CHECK(bytes_of(on_gpu.absmax2) == bytes_of(cpu.absmax2));
      CHECK(bytes_of(double_dequantize(on_gpu)) == bytes_of(double_dequantize(cpu)));
    }
  }
}

TEST_CASE("NF4 dequantization into the transpose on the GPU") {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {33, 65}, {96, 200}, {1000, 37}}) {
    for (bool dq : {false, true}) {
      const NF4Tensor q = quantize_nf4(test_values(rows * cols, 64, uint64_t(rows)), 64, dq);
      const Tensor want = dequantize_nf4(q).reshape({rows, cols}).t().contiguous();
      const NF4Tensor on_gpu = q.to(gpu);
      Tensor got = Tensor::empty({cols, rows}, DType::f32, gpu);
      const cuda::NF4Table table = nf4_gpu_table();
      cuda::NF4Weight w;
      w.packed = on_gpu.packed.data<uint8_t>(), w.n = rows * cols, w.blocksize = 64;
      if (dq) {
        w.qabsmax = on_gpu.nested.codes.data<uint8_t>(), w.absmax2 = on_gpu.nested.absmax2.data<float>(), w.offset = q.nested.offset;
        std::copy(q.nested.map.begin(), q.nested.map.end(), w.map.v);
      } else {
        w.absmax = on_gpu.absmax.data<float>();
      }
      cuda::nf4_dequantize_transposed(got.data<float>(), w, rows, cols, table);
      CHECK(bytes_of(got) == bytes_of(want));
    }
  }
}

TEST_CASE("Linear4bit on the GPU: forward through dequantize-then-matmul, and the input gradient") {
  Generator gen(12);
  for (bool dq : {false, true}) {
    nn::Linear source(320, 96, gen);
    Linear4bit cpu_layer(source, 64, dq);
    Linear4bit gpu_layer(source, 64, dq);
    gpu_layer.to(gpu);
    REQUIRE(gpu_layer.weight().device() == gpu);
    const Tensor x = randn({7, 320}, gen), g = randn({7, 96}, gen);
    Tensor x_cpu = ag::set_requires_grad(x.clone(), true), x_gpu = ag::set_requires_grad(x.to(gpu), true);
    const Tensor y_cpu = cpu_layer.forward(x_cpu), y_gpu = gpu_layer.forward(x_gpu);
    require_close(y_gpu, y_cpu, 1e-5, "y");
    ag::backward(y_cpu, g);
    ag::backward(y_gpu, g.to(gpu));
    require_close(ag::grad(x_gpu), ag::grad(x_cpu), 1e-5, "dx");
    // A batch with leading dims, and the dequantized weight's temporary freed after the forward.
    const size_t before = memory_stats(gpu).current;
    { Tensor y3 = gpu_layer.forward(randn({2, 3, 320}, gen).to(gpu)); CHECK(y3.shape() == Shape{2, 3, 96}); }
    CHECK(memory_stats(gpu).current == before);
  }
}
