// CPU f32 matmul: loralab's kernels beside OpenBLAS, in GFLOP/s (2*M*N*K flops per product).
// (Google Benchmark prints the rate counter as "GFLOP=24.2/s".)
//
//   matmul_naive    the i-j-k definition (tensor/matmul_cpu.cpp): the floor every step improves on
//   matmul_blocked  cache blocks, unit-stride inner loop, OpenMP: what lab::matmul uses today
//   lab_matmul      the same through the Tensor API (shape checks, allocation of the output)
//   openblas_sgemm  the yardstick: packed panels, hand-written SIMD micro-kernels, threads
//
// Run: ./lab bench matmul   (figures and the machine: bench/RESULTS.md)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "tensor/all.h"
#include "tensor/matmul_cpu.h"

#include <vector>

namespace {

struct Operands {
  std::vector<float> a, b, c;
  explicit Operands(int64_t n) : a(size_t(n * n)), b(size_t(n * n)), c(size_t(n * n)) {
    lab::Generator g(1);
    for (float& v : a) v = g.normal();
    for (float& v : b) v = g.normal();
  }
};

void set_gflops(benchmark::State& state, int64_t n) {
  state.counters["GFLOP"] = benchmark::Counter(2.0 * double(n) * double(n) * double(n) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void matmul_naive(benchmark::State& state) {
  int64_t n = state.range(0);
  Operands o(n);
  for (auto _ : state) {
    lab::matmul_naive<float>(o.a.data(), o.b.data(), o.c.data(), n, n, n);
    benchmark::DoNotOptimize(o.c.data());
  }
  set_gflops(state, n);
}

void matmul_blocked(benchmark::State& state) {
  int64_t n = state.range(0);
  Operands o(n);
  for (auto _ : state) {
    lab::matmul_blocked<float>(o.a.data(), o.b.data(), o.c.data(), n, n, n);
    benchmark::DoNotOptimize(o.c.data());
  }
  set_gflops(state, n);
}

void lab_matmul(benchmark::State& state) {
  int64_t n = state.range(0);
  lab::Generator g(1);
  lab::Tensor a = lab::randn({n, n}, g), b = lab::randn({n, n}, g);
  for (auto _ : state) {
    lab::Tensor c = lab::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_gflops(state, n);
}

void openblas_sgemm(benchmark::State& state) {
  int64_t n = state.range(0);
  Operands o(n);
  const int N = int(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, o.a.data(), N, o.b.data(), N, 0.0f, o.c.data(), N);
    benchmark::DoNotOptimize(o.c.data());
  }
  set_gflops(state, n);
}

}  // namespace

// The naive loop at 1024 takes seconds per product: it stops at 512.
BENCHMARK(matmul_naive)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(matmul_blocked)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(lab_matmul)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(openblas_sgemm)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
