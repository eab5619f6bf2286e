// Lesson 08's GPU NF4 and LoRA kernels, each beside its yardstick in the same binary (CUDA events):
//   gpu_nf4_dequant/<version>  cuda/nf4_kernels.h's dequantization versions
//   gpu_memcpy_d2d             cudaMemcpy device to device of the f32 output's bytes (the yardstick)
//   gpu_nf4_matmul/<version>   y = x W^T with W in NF4: dequantize-then-matmul, fused GEMV, fused GEMM
//   gpu_lora_fwd/<version>     y = x W^T + s (x A^T) B^T, unfused (3 matmuls + a pass) and fused, f32 and NF4 bases
// Counters: "GB" = bytes read + written per second, "out_GB" = f32 output bytes per second (the fair
// comparison with the copy), "GFLOP" = 2 M N K (+ LoRA's 2 M r (K + N)) per second.
// Without a usable GPU it prints why and runs nothing. Run: scripts/gpu-check.sh (bench/RESULTS.md)
#include <benchmark/benchmark.h>

#include "bench/gpu_timing.h"
#include "cuda/cuda_check.h"
#include "cuda/lora_fused.h"
#include "cuda/nf4_kernels.h"
#include "quant/nf4.h"
#include "tensor/all.h"

#include <cstdio>
#include <string>

namespace {

using namespace lab;
using namespace lab::quant;

const Device gpu = Device::cuda(0);

// A plain (not double-quantized) NF4 weight of n values on the GPU: 1M normal values quantized on the
// CPU, repeated (the timings do not depend on the values).
struct GpuNf4 {
  Tensor packed, absmax;
  cuda::NF4Weight w;
  explicit GpuNf4(int64_t n) {
    Generator g(1);
    const int64_t piece = std::min<int64_t>(n, 1 << 20);
    const NF4Tensor q = quantize_nf4(randn({piece}, g), 64);
    const int64_t reps = (n + piece - 1) / piece, bytes = (piece + 1) / 2;
    packed = q.packed.reshape({1, bytes}).expand({reps, bytes}).contiguous().reshape({reps * bytes}).to(gpu);
    absmax = q.absmax.reshape({1, q.blocks()}).expand({reps, q.blocks()}).contiguous().reshape({reps * q.blocks()}).to(gpu);
    w.packed = packed.data<uint8_t>(), w.n = n, w.blocksize = 64, w.absmax = absmax.data<float>();
  }
};

using lab::bench::time_on_gpu;

void rate(benchmark::State& state, const char* name, double per_call) {
  state.counters[name] = benchmark::Counter(per_call / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void dequant_case(benchmark::State& state, const cuda::Nf4DequantGpuVersion& v) {
  const int64_t n = state.range(0);
  GpuNf4 q(n);
  Tensor out = Tensor::empty({n}, DType::f32, gpu);
  const cuda::NF4Table table = nf4_gpu_table();
  time_on_gpu(state, [&] { v.fn(out.data<float>(), q.w, table); });
  rate(state, "GB", double((n + 1) / 2) + 4.0 * double(num_blocks(n, 64)) + 4.0 * double(n));
  rate(state, "out_GB", 4.0 * double(n));
}

void memcpy_case(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = zeros({n}, DType::f32, gpu), b = Tensor::empty({n}, DType::f32, gpu);
  time_on_gpu(state, [&] { CUDA_CHECK(cudaMemcpy(b.data<float>(), a.data<float>(), size_t(n) * 4, cudaMemcpyDeviceToDevice)); });
  rate(state, "GB", 8.0 * double(n));
  rate(state, "out_GB", 4.0 * double(n));
}

// args: M, N, K
void matmul_case(benchmark::State& state, const cuda::Nf4MatmulGpuVersion& v) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  GpuNf4 q(N * K);
  Generator g(2);
  const Tensor x = randn({M, K}, g).to(gpu);
  Tensor y = Tensor::empty({M, N}, DType::f32, gpu), scratch = Tensor::empty({K * N}, DType::f32, gpu);
  const cuda::NF4Table table = nf4_gpu_table();
  time_on_gpu(state, [&] { v.fn(y.data<float>(), x.data<float>(), M, q.w, N, K, scratch.data<float>(), table); });
  rate(state, "GFLOP", 2.0 * double(M) * double(N) * double(K));
  rate(state, "GB", 0.5625 * double(N * K) + 4.0 * double(M * (N + K)));
}

// args: M, N, K, r, nf4, fused
void lora_case(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2), r = state.range(3);
  const bool nf4 = state.range(4) != 0, fused = state.range(5) != 0;
  Generator g(3);
  const Tensor x = randn({M, K}, g).to(gpu), W = randn({N, K}, g).to(gpu), A = randn({r, K}, g).to(gpu), B = randn({N, r}, g).to(gpu);
  const Tensor Wt = W.transpose(0, 1).contiguous(), At = A.transpose(0, 1).contiguous(), Bt = B.transpose(0, 1).contiguous();
  GpuNf4 q(N * K);
  Tensor y = Tensor::empty({M, N}, DType::f32, gpu), t = Tensor::empty({M * r}, DType::f32, gpu), u = Tensor::empty({M * N}, DType::f32, gpu),
         ws = Tensor::empty({K * N}, DType::f32, gpu);
  const cuda::LoraGpu lg{A.data<float>(), B.data<float>(), r, 1.0f};
  const cuda::LoraGpuTransposed lt{At.data<float>(), Bt.data<float>(), r, 1.0f};
  const cuda::NF4Table table = nf4_gpu_table();
  time_on_gpu(state, [&] {
    if (fused && nf4)
      cuda::qlora_forward_fused_f32(y.data<float>(), x.data<float>(), M, q.w, N, K, lg, t.data<float>(), table);
    else if (fused)
      cuda::lora_forward_fused_f32(y.data<float>(), x.data<float>(), M, W.data<float>(), N, K, lg, t.data<float>());
    else if (nf4)
      cuda::qlora_forward_unfused_f32(y.data<float>(), x.data<float>(), M, q.w, N, K, lt, t.data<float>(), u.data<float>(), ws.data<float>(), table);
    else
      cuda::lora_forward_unfused_f32(y.data<float>(), x.data<float>(), M, Wt.data<float>(), N, K, lt, t.data<float>(), u.data<float>());
  });
  rate(state, "GFLOP", 2.0 * double(M) * double(N) * double(K) + 2.0 * double(M) * double(r) * double(K + N));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (!cuda_available()) {
    std::printf("bench_cuda_nf4_kernels: nothing to run: %s\n", cuda_unavailable_reason().c_str());
    return 0;
  }
  for (const cuda::Nf4DequantGpuVersion& v : cuda::nf4_dequant_gpu_versions())
    benchmark::RegisterBenchmark((std::string("gpu_nf4_dequant/") + v.name).c_str(), dequant_case, v)
        ->Arg(1 << 24)->Arg(1 << 28)->UseManualTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("gpu_memcpy_d2d", memcpy_case)->Arg(1 << 24)->Arg(1 << 28)->UseManualTime()->Unit(benchmark::kMicrosecond);
  for (const cuda::Nf4MatmulGpuVersion& v : cuda::nf4_matmul_gpu_versions())
    benchmark::RegisterBenchmark((std::string("gpu_nf4_matmul/") + v.name).c_str(), matmul_case, v)
        ->Args({1, 4096, 4096})->Args({1, 11008, 4096})->Args({2048, 384, 128})->Args({4096, 4096, 4096})
        ->ArgNames({"M", "N", "K"})->UseManualTime()->Unit(benchmark::kMicrosecond);
  for (int64_t nf4 : {0, 1})
    for (int64_t fused : {0, 1})
      benchmark::RegisterBenchmark((std::string("gpu_lora_fwd/") + (fused ? "fused" : "unfused") + (nf4 ? "/nf4" : "/f32")).c_str(), lora_case)
          ->Args({1792, 384, 128, 8, nf4, fused})->Args({4096, 4096, 4096, 16, nf4, fused})
          ->ArgNames({"M", "N", "K", "r", "nf4", "fused"})->UseManualTime()->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
