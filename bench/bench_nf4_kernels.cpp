// Lesson 08's CPU NF4 kernels, each version beside its yardstick in the same binary:
//   nf4_dequant/<version>   every version of quant/nf4_kernels_cpu.h (v1 scalar .. v4 SIMD + OpenMP)
//   memcpy                  std::memcpy of the f32 output's bytes (the yardstick: a dequantization
//                           writes those same bytes and reads 7x fewer)
//   nf4_matmul/<version>    y = x W^T, W in NF4, every version of quant/nf4_matmul_cpu.h, at batch 1
//                           (GEMV) and at lesson 04's training shapes (2048 rows of x)
// Counters: "GB" = bytes read + written per second; "out_GB" = bytes of f32 output per second (the
// fair comparison with memcpy: same output, same stores); "GFLOP" = 2 M N K per second.
// Buffers are allocated and touched before timing. Run: ./lab bench nf4_kernels (bench/RESULTS.md)
#include <benchmark/benchmark.h>

#include "quant/nf4.h"
#include "quant/nf4_kernels_cpu.h"
#include "quant/nf4_matmul_cpu.h"
#include "tensor/all.h"

#include <omp.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace lab;
using namespace lab::quant;

struct Weights {
  std::vector<float> x;
  std::vector<uint8_t> packed;
  std::vector<float> absmax, out;
  explicit Weights(int64_t n) : x(size_t(n)), packed(size_t((n + 1) / 2)), absmax(size_t(num_blocks(n, 64))), out(size_t(n), 0.0f) {
    Generator g(1);
    for (float& v : x) v = g.normal();
    quantize_nf4_ref(x.data(), n, 64, packed.data(), absmax.data());
  }
};

void counters(benchmark::State& state, double read, double written) {
  state.counters["GB"] = benchmark::Counter((read + written) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["out_GB"] = benchmark::Counter(written / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = double(omp_get_max_threads());
}

void dequant_case(benchmark::State& state, Nf4DequantFn fn) {
  const int64_t n = state.range(0);
  Weights w(n);
  for (auto _ : state) {
    fn(w.packed.data(), w.absmax.data(), n, 64, w.out.data());
    benchmark::DoNotOptimize(w.out.data());
    benchmark::ClobberMemory();
  }
  counters(state, double((n + 1) / 2) + 4.0 * double(num_blocks(n, 64)), 4.0 * double(n));
}

void memcpy_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  Weights w(n);
  for (auto _ : state) {
    std::memcpy(w.out.data(), w.x.data(), size_t(n) * 4);
    benchmark::DoNotOptimize(w.out.data());
    benchmark::ClobberMemory();
  }
  counters(state, 4.0 * double(n), 4.0 * double(n));
}

// y [M, N] = x [M, K] W^T; args: M, N, K
void nf4_matmul_case(benchmark::State& state, Nf4MatmulFn fn) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  Weights w(N * K);
  std::vector<float> x(size_t(M * K)), y(size_t(M * N));
  Generator g(2);
  for (float& v : x) v = g.normal();
  const Nf4MatrixRef ref{w.packed.data(), w.absmax.data(), 64, N, K};
  for (auto _ : state) {
    fn(x.data(), M, ref, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP"] = benchmark::Counter(2.0 * double(M * N * K) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB"] = benchmark::Counter((double(N * K) * 0.5625 + 4.0 * double(M * (N + K))) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // 1M weights (4 MB of f32 output: L2 + L3), 16M (64 MB: DRAM).
  for (const Nf4DequantVersion& v : nf4_dequant_versions())
    benchmark::RegisterBenchmark((std::string("nf4_dequant/") + v.name).c_str(), dequant_case, v.fn)
        ->Arg(1 << 20)->Arg(1 << 24)->UseRealTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("memcpy", memcpy_f32)->Arg(1 << 20)->Arg(1 << 24)->UseRealTime()->Unit(benchmark::kMicrosecond);
  // Batch 1 (decoding a token) on lesson 04's c_fc [512, 128] and a 4096 x 4096 layer (LLaMA-7B's
  // attention projections: 8 MB of NF4); then training batches: 2048 rows of lesson 04's shapes
  // (c_attn [384, 128], c_fc [512, 128], mlp c_proj [128, 512]) and a 1024 square.
  for (const Nf4MatmulVersion& v : nf4_matmul_versions())
    benchmark::RegisterBenchmark((std::string("nf4_matmul/") + v.name).c_str(), nf4_matmul_case, v.fn)
        ->Args({1, 512, 128})->Args({1, 4096, 4096})->Args({2048, 384, 128})->Args({2048, 512, 128})->Args({2048, 128, 512})
        ->Args({1024, 1024, 1024})->ArgNames({"M", "N", "K"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
