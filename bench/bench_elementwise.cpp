// CPU elementwise ops and reductions in GB/s: bytes read + bytes written per call over time
// (printed as "GB=13.3/s").
// Memory-bound by design: an add moves 12 bytes per element for one flop, so the ceiling is the
// machine's memory bandwidth, not its arithmetic.
//
//   add_contiguous   a + b, same shape: the fast path, a plain (OpenMP) loop
//   add_broadcast    [N, C] + [C]: the strided path with a stride-0 operand
//   add_transposed   a^T + b: the strided path through a transposed view
//   gelu             one input, one output, a tanh per element
//   sum_rows         sum over the last dim of [N, C]
//
// Run: ./lab bench elementwise   (figures: bench/RESULTS.md)
#include <benchmark/benchmark.h>

#include "tensor/all.h"

namespace {

void set_bytes(benchmark::State& state, double bytes_per_call) {
  state.counters["GB"] = benchmark::Counter(bytes_per_call / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void add_contiguous(benchmark::State& state) {
  int64_t n = state.range(0);
  lab::Generator g(1);
  lab::Tensor a = lab::randn({n}, g), b = lab::randn({n}, g);
  for (auto _ : state) benchmark::DoNotOptimize(lab::add(a, b).raw_data());
  set_bytes(state, 12.0 * double(n));
}

void add_broadcast(benchmark::State& state) {
  int64_t n = state.range(0), c = 1024;
  lab::Generator g(1);
  lab::Tensor a = lab::randn({n / c, c}, g), b = lab::randn({c}, g);
  for (auto _ : state) benchmark::DoNotOptimize(lab::add(a, b).raw_data());
  set_bytes(state, 8.0 * double(n));
}

void add_transposed(benchmark::State& state) {
  int64_t n = state.range(0), c = 1024;
  lab::Generator g(1);
  lab::Tensor a = lab::randn({c, n / c}, g).t(), b = lab::randn({n / c, c}, g);
  for (auto _ : state) benchmark::DoNotOptimize(lab::add(a, b).raw_data());
  set_bytes(state, 12.0 * double(n));
}

void gelu(benchmark::State& state) {
  int64_t n = state.range(0);
  lab::Generator g(1);
  lab::Tensor a = lab::randn({n}, g);
  for (auto _ : state) benchmark::DoNotOptimize(lab::gelu(a).raw_data());
  set_bytes(state, 8.0 * double(n));
}

void sum_rows(benchmark::State& state) {
  int64_t n = state.range(0), c = 1024;
  lab::Generator g(1);
  lab::Tensor a = lab::randn({n / c, c}, g);
  for (auto _ : state) benchmark::DoNotOptimize(lab::sum(a, {1}).raw_data());
  set_bytes(state, 4.0 * double(n));
}

}  // namespace

// 1M elements fit in L2/L3; 16M (64 MB per f32 tensor) go to DRAM.
BENCHMARK(add_contiguous)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);
BENCHMARK(add_broadcast)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);
BENCHMARK(add_transposed)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);
BENCHMARK(gelu)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);
BENCHMARK(sum_rows)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
