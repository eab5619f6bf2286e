// One AdamW update against one AdamW8bit update of n f32 parameters, in GB/s (bytes read + written
// per call over time, "GB=.../s") and parameters per second ("items_per_second"). Per parameter:
//   AdamW       reads p, g, m, v (16 B), writes p, m, v (12 B)                         = 28 B
//   AdamW8bit   reads p, g (8 B) + 2 codes + 2 absmax / 256, writes p + 2 codes + 2 absmax / 256 = 16.0625 B
// so at equal GB/s the 8-bit update would run 1.74x more parameters per second; it does not, because
// each code costs a 7-step binary search (compute-bound on the CPU).
//   adamw_f32 / adamw_8bit             the CPU references (optim/adamw.cpp, optim/adamw8bit.cpp), OpenMP
//   gpu_adamw_f32 / gpu_adamw_8bit     cuda/adamw.cu, cuda/adamw8bit.cu, timed with CUDA events (only with a GPU)
// Buffers are allocated and touched before timing. Run: ./lab bench optim (bench/RESULTS.md)
#include <benchmark/benchmark.h>

#include "optim/adamw8bit.h"
#include "tensor/all.h"

#if LAB_HAS_CUDA
#include "bench/gpu_timing.h"
#include "cuda/cuda_check.h"
#endif

#include <cstdio>
#include <cstring>

namespace {

using namespace lab;

void set_bytes(benchmark::State& state, int64_t n, double bytes_per_param) {
  state.counters["GB"] = benchmark::Counter(bytes_per_param * double(n) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(int64_t(state.iterations()) * n);
}
double bytes_8bit(int64_t block_size) { return 16.0 + 16.0 / double(block_size); }
constexpr double kBytesF32 = 28.0;

// Parameters, gradients and both kinds of state for n parameters, on `device`; the 8-bit state
// comes from one update, so the codes are realistic.
struct Case {
  Tensor p, g, m, v, c1, c2, a1, a2;
  cuda::AdamWCoefficients coef;
  Case(int64_t n, Device device) {
    Generator gen(1);
    const int64_t piece = std::min<int64_t>(n, 1 << 20);  // 1M normal values, repeated (the timing ignores the values)
    auto values = [&](double scale) {
      return mul(randn({piece}, gen), scale).to(device).expand({n / piece, piece}).contiguous().reshape({n});
    };
    p = values(1.0), g = values(1.0), m = values(0.1), v = mul(values(0.1), values(0.1));
    c1 = zeros({n}, DType::u8, device), c2 = zeros({n}, DType::u8, device);
    a1 = zeros({(n + 255) / 256}, DType::f32, device), a2 = zeros({(n + 255) / 256}, DType::f32, device);
    coef = adamw_coefficients(AdamWOptions{}, 10);
    if (!device.is_cuda())
      adamw8bit_step_ref(p.data<float>(), g.data<float>(), c1.data<uint8_t>(), c2.data<uint8_t>(), a1.data<float>(), a2.data<float>(), n,
                         256, coef);
  }
};

void adamw_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  Case c(n, Device::cpu());
  for (auto _ : state) {
    adamw_step_ref(c.p.data<float>(), c.g.data<float>(), c.m.data<float>(), c.v.data<float>(), n, c.coef);
    benchmark::DoNotOptimize(c.p.data<float>());
  }
  set_bytes(state, n, kBytesF32);
}

void adamw_8bit(benchmark::State& state) {
  const int64_t n = state.range(0);
  Case c(n, Device::cpu());
  for (auto _ : state) {
    adamw8bit_step_ref(c.p.data<float>(), c.g.data<float>(), c.c1.data<uint8_t>(), c.c2.data<uint8_t>(), c.a1.data<float>(),
                       c.a2.data<float>(), n, 256, c.coef);
    benchmark::DoNotOptimize(c.p.data<float>());
  }
  set_bytes(state, n, bytes_8bit(256));
}

#if LAB_HAS_CUDA
using lab::bench::time_on_gpu;

void gpu_adamw_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  Case c(n, Device::cuda());
  time_on_gpu(state, [&] { cuda::adamw_step_f32(c.p.data<float>(), c.g.data<float>(), c.m.data<float>(), c.v.data<float>(), n, c.coef); });
  set_bytes(state, n, kBytesF32);
}

void gpu_adamw_8bit(benchmark::State& state) {
  const int64_t n = state.range(0);
  Case c(n, Device::cuda());
  cuda::DynamicMaps8bit maps{};
  std::memcpy(maps.m, adam8bit_map_m().data(), sizeof(maps.m));
  std::memcpy(maps.v, adam8bit_map_v().data(), sizeof(maps.v));
  auto launch = [&] {
    cuda::adamw8bit_step_f32(c.p.data<float>(), c.g.data<float>(), c.c1.data<uint8_t>(), c.c2.data<uint8_t>(), c.a1.data<float>(),
                             c.a2.data<float>(), n, 256, c.coef, maps);
  };
  launch();  // realistic codes and absmax before timing
  time_on_gpu(state, launch);
  set_bytes(state, n, bytes_8bit(256));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // 1M parameters: state in the caches (AdamW's 28 MB partly); 16M: from DRAM.
  for (auto [name, fn] : {std::pair<const char*, void (*)(benchmark::State&)>{"adamw_f32", adamw_f32}, {"adamw_8bit", adamw_8bit}})
    benchmark::RegisterBenchmark(name, fn)->Arg(1 << 20)->Arg(1 << 24)->UseRealTime()->Unit(benchmark::kMicrosecond);
#if LAB_HAS_CUDA
  if (lab::cuda_available()) {
    for (auto [name, fn] :
         {std::pair<const char*, void (*)(benchmark::State&)>{"gpu_adamw_f32", gpu_adamw_f32}, {"gpu_adamw_8bit", gpu_adamw_8bit}})
      benchmark::RegisterBenchmark(name, fn)->Arg(1 << 24)->Arg(1 << 27)->UseManualTime()->Unit(benchmark::kMicrosecond);
  } else {
    std::printf("GPU benchmarks skipped: %s\n", lab::cuda_unavailable_reason().c_str());
  }
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
