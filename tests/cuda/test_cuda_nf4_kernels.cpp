// Lesson 08's GPU NF4 and LoRA kernels (cuda/nf4_kernels.h, cuda/lora_fused.h) against their CPU
// references: every dequantization version must give dequantize_nf4_ref's bits (plain and double
// quantized, odd n, an unaligned output that takes the fallback path); every NF4 matmul version and
// the LoRA forwards must match the CPU's within f32 rounding, on odd sizes (1, 17, 129, 1000).
// Run only where a GPU is present: cuda_test_main.cpp skips them elsewhere.
#include <catch2/catch.hpp>

#include "cuda/lora_fused.h"
#include "cuda/nf4_kernels.h"
#include "quant/lora_fused.h"
#include "quant/nf4.h"
#include "tensor/all.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace lab;
using namespace lab::quant;

namespace {

const Device gpu = Device::cuda(0);

// max |a - b| <= tol * max |b|
void require_close(const std::vector<float>& a, const std::vector<float>& b, double tol, const std::string& what) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); i++) diff = std::max(diff, double(std::fabs(a[i] - b[i]))), scale = std::max(scale, double(std::fabs(b[i])));
  INFO(what << ": max |gpu - cpu| = " << diff << ", max |cpu| = " << scale);
  CHECK(diff <= tol * scale + 1e-30);
}

}  // namespace

TEST_CASE("every GPU NF4 dequantization version gives the CPU reference's bits") {
  for (int64_t blocksize : {32, 64, 4096}) {
    for (int64_t n : {int64_t(1), int64_t(17), int64_t(129), int64_t(1000), int64_t(1024 * 37), int64_t(4096 * 9 + 33)}) {
      for (bool dq : {false, true}) {
        Generator g(uint64_t(n + blocksize));
        const Tensor x = mul(randn({n}, g), 2.0);
        const NF4Tensor cpu = quantize_nf4(x, blocksize, dq);
        const std::vector<float> want = dequantize_nf4(cpu).to_vector<float>();
        const NF4Tensor q = cpu.to(gpu);
        for (const cuda::Nf4DequantGpuVersion& v : cuda::nf4_dequant_gpu_versions()) {
          for (int64_t shift : {0, 1}) {  // shift 1: a misaligned output, the fallback path
            Tensor out = Tensor::empty({n + 1}, DType::f32, gpu);
            v.fn(out.data<float>() + shift, nf4_gpu_weight(q), nf4_gpu_table());
            const std::vector<float> got_all = out.to_vector<float>();
            const std::vector<float> got(got_all.begin() + shift, got_all.begin() + shift + n);
            INFO(v.name << ", block " << blocksize << ", n " << n << ", double quant " << dq << ", output offset " << shift);
            CHECK(std::memcmp(got.data(), want.data(), size_t(n) * sizeof(float)) == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("every GPU NF4 matmul version matches the CPU on odd sizes") {
  for (int64_t K : {int64_t(1), int64_t(17), int64_t(128), int64_t(129), int64_t(1000)}) {
    for (int64_t N : {int64_t(1), int64_t(17), int64_t(129)}) {
      for (int64_t M : {int64_t(1), int64_t(17), int64_t(129)}) {
        Generator g(uint64_t(M * 7 + N * 3 + K));
        const NF4Tensor cpu_w = quantize_nf4(randn({N, K}, g), 64, /*double_quant=*/K % 2 == 1);
        const Tensor x = randn({M, K}, g);
        const std::vector<float> want = nf4_linear(x, cpu_w).to_vector<float>();
        const NF4Tensor w = cpu_w.to(gpu);
        const Tensor xg = x.to(gpu);
        Tensor scratch = Tensor::empty({K * N}, DType::f32, gpu);
        for (const cuda::Nf4MatmulGpuVersion& v : cuda::nf4_matmul_gpu_versions()) {
          Tensor y = Tensor::empty({M, N}, DType::f32, gpu);
          v.fn(y.data<float>(), xg.data<float>(), M, nf4_gpu_weight(w), N, K, scratch.data<float>(), nf4_gpu_table());
          require_close(y.to_vector<float>(), want, 1e-5 * std::sqrt(double(K)) + 1e-6,
                        std::string(v.name) + " M " + std::to_string(M) + " N " + std::to_string(N) + " K " + std::to_string(K));
        }
      }
    }
  }
}

TEST_CASE("the GPU LoRA forwards, fused and unfused, f32 and NF4 bases, match the CPU's") {
  for (int64_t K : {int64_t(17), int64_t(129), int64_t(1000)}) {
    for (int64_t N : {int64_t(1), int64_t(129)}) {
      for (int64_t M : {int64_t(1), int64_t(17), int64_t(129)}) {
        for (int64_t r : {int64_t(1), int64_t(8)}) {
          Generator g(uint64_t(M + N * 5 + K * 11 + r));
          const Tensor x = randn({M, K}, g), W = mul(randn({N, K}, g), 0.5), A = mul(randn({r, K}, g), 0.3), B = mul(randn({N, r}, g), 0.3);
          const float s = 2.0f;
          const NF4Tensor q = quantize_nf4(W, 64, /*double_quant=*/true);
          const Tensor absmax = nf4_absmax(q).contiguous();
          const LoraRef lora{A.data<float>(), B.data<float>(), r, s};
          std::vector<float> want(size_t(M * N)), want_q(size_t(M * N));
          lora_forward_unfused(x.data<float>(), M, W.data<float>(), N, K, lora, want.data());
          qlora_forward_unfused(x.data<float>(), M, {q.packed.data<uint8_t>(), absmax.data<float>(), 64, N, K}, lora, want_q.data());

          const Tensor xg = x.to(gpu), Wg = W.to(gpu), Ag = A.to(gpu), Bg = B.to(gpu);
          const Tensor Wt = W.transpose(0, 1).contiguous().to(gpu), At = A.transpose(0, 1).contiguous().to(gpu),
                       Bt = B.transpose(0, 1).contiguous().to(gpu);
          const NF4Tensor qg = q.to(gpu);
          Tensor t = Tensor::empty({M * r}, DType::f32, gpu), u = Tensor::empty({M * N}, DType::f32, gpu),
                 ws = Tensor::empty({K * N}, DType::f32, gpu), y = Tensor::empty({M, N}, DType::f32, gpu);
          const cuda::LoraGpu lg{Ag.data<float>(), Bg.data<float>(), r, s};
          const cuda::LoraGpuTransposed lt{At.data<float>(), Bt.data<float>(), r, s};
          const std::string sizes = " M " + std::to_string(M) + " N " + std::to_string(N) + " K " + std::to_string(K) + " r " + std::to_string(r);
          const double tol = 1e-5 * std::sqrt(double(K)) + 1e-6;

          cuda::lora_forward_unfused_f32(y.data<float>(), xg.data<float>(), M, Wt.data<float>(), N, K, lt, t.data<float>(), u.data<float>());
          require_close(y.to_vector<float>(), want, tol, "unfused, f32 base" + sizes);
          cuda::lora_forward_fused_f32(y.data<float>(), xg.data<float>(), M, Wg.data<float>(), N, K, lg, t.data<float>());
          require_close(y.to_vector<float>(), want, tol, "fused, f32 base" + sizes);
          cuda::qlora_forward_unfused_f32(y.data<float>(), xg.data<float>(), M, nf4_gpu_weight(qg), N, K, lt, t.data<float>(), u.data<float>(),
                                          ws.data<float>(), nf4_gpu_table());
          require_close(y.to_vector<float>(), want_q, tol, "unfused, NF4 base" + sizes);
          cuda::qlora_forward_fused_f32(y.data<float>(), xg.data<float>(), M, nf4_gpu_weight(qg), N, K, lg, t.data<float>(), nf4_gpu_table());
          require_close(y.to_vector<float>(), want_q, tol, "fused, NF4 base" + sizes);
        }
      }
    }
  }
}
