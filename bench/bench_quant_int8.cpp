// int8 quantize and dequantize on the CPU in GB/s (bytes read + written per call over time, printed
// as "GB=3.1/s"), beside a plain memcpy of the f32 tensor in the same binary: the ceiling a pass
// over memory can reach on this machine.
//
//   memcpy_f32                 4n bytes copied: reads 4n, writes 4n
//   quantize_absmax_rows       f32 [n/1024, 1024] -> i8 codes + f32 row scales (reads 4n, writes n + 4n/1024)
//   quantize_zero_point_block  blocks of 64: + i8 zero points (reads 4n, writes n + 5n/64)
//   dequantize_absmax_rows     the reverse of the first (reads n + 4n/1024, writes 4n)
// Each op allocates its output, as the Tensor API does (bench_elementwise.cpp does the same).
// Rates are over wall time (UseRealTime): OpenMP threads do the work, not only the timing thread.
// Run: ./lab bench quant_int8   (figures: bench/RESULTS.md)
#include <benchmark/benchmark.h>

#include "quant/int8.h"
#include "tensor/all.h"

#include <cstring>
#include <vector>

namespace {

using namespace lab;
using namespace lab::quant;

constexpr int64_t kCols = 1024;

void set_bytes(benchmark::State& state, double bytes_per_call) {
  state.counters["GB"] = benchmark::Counter(bytes_per_call / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void memcpy_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator g(1);
  const Tensor a = randn({n}, g);
  for (auto _ : state) {
    Tensor b = Tensor::empty({n});
    std::memcpy(b.raw_data(), a.raw_data(), a.nbytes());
    benchmark::DoNotOptimize(b.raw_data());
  }
  set_bytes(state, 8.0 * double(n));
}

void quantize_absmax_rows(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator g(1);
  const Tensor x = randn({n / kCols, kCols}, g);
  for (auto _ : state) benchmark::DoNotOptimize(quantize_int8(x, Int8Scheme::absmax, Granularity::per_row).q.raw_data());
  set_bytes(state, 5.0 * double(n) + 4.0 * double(n / kCols));
}

void quantize_zero_point_block(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator g(1);
  const Tensor x = randn({n / kCols, kCols}, g);
  for (auto _ : state) benchmark::DoNotOptimize(quantize_int8(x, Int8Scheme::zero_point, Granularity::per_block, 64).q.raw_data());
  set_bytes(state, 5.0 * double(n) + 5.0 * double(n / 64));
}

void dequantize_absmax_rows(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator g(1);
  const Int8Tensor t = quantize_int8(randn({n / kCols, kCols}, g), Int8Scheme::absmax, Granularity::per_row);
  for (auto _ : state) benchmark::DoNotOptimize(dequantize(t).raw_data());
  set_bytes(state, 5.0 * double(n) + 4.0 * double(n / kCols));
}

}  // namespace

// 1M elements (4 MB of f32) stay in cache; 16M (64 MB) go to DRAM.
BENCHMARK(memcpy_f32)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(quantize_absmax_rows)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(quantize_zero_point_block)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(dequantize_absmax_rows)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
