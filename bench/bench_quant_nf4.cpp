// NF4 quantize and dequantize in GB/s (bytes read + written per call over wall time, "GB=.../s"),
// beside a plain copy in the same binary. Per weight, quantize reads 4 bytes and writes 0.5 + 4/64
// (codes + absmax at block 64), dequantize the reverse; the copy moves the f32 weight (4 + 4).
//   nf4_quantize / nf4_dequantize           the CPU reference codec (OpenMP over blocks)
//   memcpy                                  std::memcpy of the f32 weight, into a buffer allocated once
//   gpu_nf4_quantize / gpu_nf4_dequantize   cuda/nf4.cu, timed with CUDA events (only where a GPU is usable)
//   gpu_memcpy_d2d                          cudaMemcpy of the f32 weight, device to device
// Buffers are allocated before timing, so page faults stay out. Run: ./lab bench quant_nf4 (bench/RESULTS.md)
#include <benchmark/benchmark.h>

#include "quant/nf4.h"
#include "tensor/all.h"

#if LAB_HAS_CUDA
#include "bench/gpu_timing.h"
#include "cuda/cuda_check.h"
#include "cuda/nf4.h"
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

using namespace lab;
using namespace lab::quant;

void set_bytes(benchmark::State& state, double bytes_per_call) {
  state.counters["GB"] = benchmark::Counter(bytes_per_call / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Bytes of the f32 weight, and of its codes + absmax at block 64.
double f32_bytes(int64_t n) { return 4.0 * double(n); }
double nf4_bytes(int64_t n) { return double((n + 1) / 2) + 4.0 * double(num_blocks(n, 64)); }

struct Buffers {
  Tensor x;
  std::vector<uint8_t> packed;
  std::vector<float> absmax, out;
  explicit Buffers(int64_t n) : packed(size_t((n + 1) / 2)), absmax(size_t(num_blocks(n, 64))), out(size_t(n)) {
    Generator g(1);
    x = randn({n}, g);
    quantize_nf4_ref(x.data<float>(), n, 64, packed.data(), absmax.data());
  }
};

void nf4_quantize(benchmark::State& state) {
  const int64_t n = state.range(0);
  Buffers b(n);
  for (auto _ : state) {
    quantize_nf4_ref(b.x.data<float>(), n, 64, b.packed.data(), b.absmax.data());
    benchmark::DoNotOptimize(b.packed.data());
  }
  set_bytes(state, f32_bytes(n) + nf4_bytes(n));
}

void nf4_dequantize(benchmark::State& state) {
  const int64_t n = state.range(0);
  Buffers b(n);
  for (auto _ : state) {
    dequantize_nf4_ref(b.packed.data(), b.absmax.data(), n, 64, b.out.data());
    benchmark::DoNotOptimize(b.out.data());
  }
  set_bytes(state, nf4_bytes(n) + f32_bytes(n));
}

void memcpy_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  Buffers b(n);
  for (auto _ : state) {
    std::memcpy(b.out.data(), b.x.data<float>(), size_t(n) * 4);
    benchmark::DoNotOptimize(b.out.data());
  }
  set_bytes(state, 2 * f32_bytes(n));
}

#if LAB_HAS_CUDA
// GPU buffers for n weights, and the kernels' code book. Each iteration is timed with CUDA events.
struct GpuCase {
  Tensor x, packed, absmax, out;
  cuda::NF4Table table{};
  explicit GpuCase(int64_t n) {
    Generator g(1);
    const int64_t piece = std::min<int64_t>(n, 1 << 20);  // 1M normal values, repeated on the GPU (the timing ignores the values)
    x = randn({piece}, g).to(Device::cuda()).expand({n / piece, piece}).contiguous().reshape({n});
    packed = Tensor::empty({(n + 1) / 2}, DType::u8, Device::cuda());
    absmax = Tensor::empty({num_blocks(n, 64)}, DType::f32, Device::cuda());
    out = Tensor::empty({n}, DType::f32, Device::cuda());
    std::copy(nf4_table().begin(), nf4_table().end(), table.v);
    std::copy(nf4_thresholds().begin(), nf4_thresholds().end(), table.thresholds);
    cuda::nf4_quantize(packed.data<uint8_t>(), absmax.data<float>(), x.data<float>(), n, 64, table);
  }
};

using lab::bench::time_on_gpu;

void gpu_nf4_quantize(benchmark::State& state) {
  const int64_t n = state.range(0);
  GpuCase c(n);
  time_on_gpu(state, [&] { cuda::nf4_quantize(c.packed.data<uint8_t>(), c.absmax.data<float>(), c.x.data<float>(), n, 64, c.table); });
  set_bytes(state, f32_bytes(n) + nf4_bytes(n));
}

void gpu_nf4_dequantize(benchmark::State& state) {
  const int64_t n = state.range(0);
  GpuCase c(n);
  cuda::NF4Weight w;
  w.packed = c.packed.data<uint8_t>(), w.n = n, w.blocksize = 64, w.absmax = c.absmax.data<float>();
  time_on_gpu(state, [&] { cuda::nf4_dequantize(c.out.data<float>(), w, c.table); });
  set_bytes(state, nf4_bytes(n) + f32_bytes(n));
}

void gpu_memcpy_d2d(benchmark::State& state) {
  const int64_t n = state.range(0);
  GpuCase c(n);
  time_on_gpu(state, [&] { CUDA_CHECK(cudaMemcpy(c.out.data<float>(), c.x.data<float>(), size_t(n) * 4, cudaMemcpyDeviceToDevice)); });
  set_bytes(state, 2 * f32_bytes(n));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // 1M weights stay in the caches; 16M (64 MB of f32) go to DRAM.
  for (auto [name, fn] : {std::pair<const char*, void (*)(benchmark::State&)>{"nf4_quantize", nf4_quantize},
                          {"nf4_dequantize", nf4_dequantize},
                          {"memcpy", memcpy_f32}})
    benchmark::RegisterBenchmark(name, fn)->Arg(1 << 20)->Arg(1 << 24)->UseRealTime()->Unit(benchmark::kMicrosecond);
#if LAB_HAS_CUDA
  if (lab::cuda_available()) {
    for (auto [name, fn] : {std::pair<const char*, void (*)(benchmark::State&)>{"gpu_nf4_quantize", gpu_nf4_quantize},
                            {"gpu_nf4_dequantize", gpu_nf4_dequantize},
                            {"gpu_memcpy_d2d", gpu_memcpy_d2d}})
      benchmark::RegisterBenchmark(name, fn)->Arg(1 << 24)->Arg(1 << 27)->UseManualTime()->Unit(benchmark::kMicrosecond);
  } else {
    std::printf("GPU benchmarks skipped: %s\n", lab::cuda_unavailable_reason().c_str());
  }
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
