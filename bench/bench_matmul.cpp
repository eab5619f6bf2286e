// CPU f32 matmul: loralab's kernels beside OpenBLAS, in GFLOP/s (2*M*N*K flops per product).
// (Google Benchmark prints the rate counter as "GFLOP=24.2/s".)
//
//   matmul_naive    the i-j-k definition (tensor/matmul_cpu.cpp): the floor every step improves on
//   matmul_blocked  cache blocks, unit-stride inner loop, OpenMP
//   matmul_v4_packed_simd/ISA  packed panels + register-blocked micro-kernel, one thread, per ISA
//   matmul_v5_packed_simd_omp  v4 on OpenMP threads (the fastest micro-kernel): what lab::matmul uses
//   lab_matmul      v5 through the Tensor API (shape checks, allocation of the output)
//   lab_matmul_gpt/...  the products of one training step of lesson 04's tiny GPT (B*T = 2048 rows,
//                   C = 128, attention [T, hd] = [128, 32] over B*H = 64 heads), transposed views as
//                   autograd passes them
//   openblas_sgemm  the yardstick: packed panels, hand-written SIMD micro-kernels, threads
//
// Run: ./lab bench matmul   (figures and the machine: bench/RESULTS.md)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "tensor/all.h"
#include "tensor/matmul_cpu.h"

#include <algorithm>
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

void matmul_v4_packed_simd(benchmark::State& state, lab::Isa isa) {
  std::vector<lab::Isa> isas = lab::supported_isas();
  if (std::find(isas.begin(), isas.end(), isa) == isas.end()) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  int64_t n = state.range(0);
  Operands o(n);
  for (auto _ : state) {
    lab::matmul_v4_packed_simd({o.a.data(), n, 1}, {o.b.data(), n, 1}, o.c.data(), n, n, n, isa);
    benchmark::DoNotOptimize(o.c.data());
  }
  set_gflops(state, n);
}

void matmul_v5_packed_simd_omp(benchmark::State& state) {
  int64_t n = state.range(0);
  Operands o(n);
  for (auto _ : state) {
    lab::matmul_v5_packed_simd_omp({o.a.data(), n, 1}, {o.b.data(), n, 1}, o.c.data(), n, n, n);
    benchmark::DoNotOptimize(o.c.data());
  }
  set_gflops(state, n);
}

// One product of the GPT step: a @ b with a of `ashape`, b of `bshape`, transposed when asked.
void lab_matmul_gpt(benchmark::State& state, lab::Shape ashape, bool ta, lab::Shape bshape, bool tb) {
  lab::Generator g(1);
  lab::Tensor a = lab::randn(ashape, g), b = lab::randn(bshape, g);
  if (ta) a = a.transpose(-1, -2);
  if (tb) b = b.transpose(-1, -2);
  const double flops = 2.0 * double(a.numel()) * double(b.size(-1));  // 2 * batch * M * K * N
  for (auto _ : state) {
    lab::Tensor c = lab::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.counters["GFLOP"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
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

// Threaded rows time the wall clock (UseRealTime): CPU time of the main thread would hide the other
// thread's work and any wait for a busy core.
// The naive loop at 1024 takes seconds per product: it stops at 512.
BENCHMARK(matmul_naive)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(matmul_blocked)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(matmul_v4_packed_simd, scalar, lab::Isa::scalar)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(matmul_v4_packed_simd, avx2_fma, lab::Isa::avx2_fma)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(matmul_v4_packed_simd, avx512f, lab::Isa::avx512f)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(matmul_v5_packed_simd_omp)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(lab_matmul)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(openblas_sgemm)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

// The GPT step's products (x: [B*T, C] = [2048, 128]; W: [out, in] as nn::Linear stores it).
BENCHMARK_CAPTURE(lab_matmul_gpt, linear_fwd_x_WT_qkv, lab::Shape{2048, 128}, false, lab::Shape{384, 128}, true)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(lab_matmul_gpt, linear_bwd_dx_dY_W, lab::Shape{2048, 384}, false, lab::Shape{384, 128}, false)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(lab_matmul_gpt, linear_bwd_dW_dYT_x, lab::Shape{2048, 384}, true, lab::Shape{2048, 128}, false)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(lab_matmul_gpt, attn_q_kT, lab::Shape{64, 128, 32}, false, lab::Shape{64, 128, 32}, true)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(lab_matmul_gpt, attn_p_v, lab::Shape{64, 128, 128}, false, lab::Shape{64, 128, 32}, false)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(lab_matmul_gpt, lm_head_x_WT, lab::Shape{2048, 128}, false, lab::Shape{256, 128}, true)->UseRealTime()->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
