// GPU SGEMM: every numbered version of cuda/matmul.h beside cuBLAS in the same run, in GFLOP/s and
// as a percentage of the GPU's FP32 peak, on square sizes 256..4096 and on the products of one
// training step of lesson 04's tiny GPT (same M, N, K; operands not transposed).
//
//   cublas_sgemm        the f32 yardstick: cublasSgemm, default math mode (plain FP32, no TF32)
//   cublas_bf16_tc      the yardstick for v8: cublasGemmEx on f32 data with CUBLAS_COMPUTE_32F_FAST_16BF
//                       (inputs rounded to bf16, tensor cores, f32 accumulation), v8's arithmetic
//
// Each iteration is timed with CUDA events around the launch (UseManualTime): GPU time.
// GFLOP/s = 2 batch M N K / seconds. After the run, one table: each version's GFLOP/s per square
// size and the fastest f32 version as a percentage of cuBLAS. Without a GPU it prints why and exits 0.
// Run: build/bench/bench_cuda_sgemm --benchmark_min_time=0.2   (scripts/gpu-check.sh runs it)
#include <benchmark/benchmark.h>
#include <cublas_v2.h>

#include "bench/gpu_timing.h"
#include "cuda/cuda_check.h"
#include "cuda/matmul.h"
#include "cuda/runtime.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using lab::cuda::MatmulShape;

namespace {

#define CUBLAS_CHECK(call)                                                                                     \
  do {                                                                                                         \
    const cublasStatus_t status_ = (call);                                                                     \
    if (status_ != CUBLAS_STATUS_SUCCESS)                                                                      \
      throw std::runtime_error(std::string("cuBLAS error in " #call ": ") + cublasGetStatusString(status_)); \
  } while (0)

cublasHandle_t cublas_handle = nullptr;
double peak_gflops = 0;  // the GPU's FP32 peak (no tensor cores): lab::cuda::fp32_peak

using lab::bench::DeviceFloats;

// Row-major C = A B is column-major C^T = B^T A^T, so cuBLAS gets B first and the dims swapped;
// the batch goes through the strided-batched call (stride 0 broadcasts, as in MatmulShape).
void matmul_cublas(float* c, const float* a, const float* b, const MatmulShape& s) {
  const float one = 1, zero = 0;
  CUBLAS_CHECK(cublasSgemmStridedBatched(cublas_handle, CUBLAS_OP_N, CUBLAS_OP_N, int(s.N), int(s.M), int(s.K), &one, b, int(s.N),
                                         s.stride_b, a, int(s.K), s.stride_a, &zero, c, int(s.N), s.M * s.N, int(s.batch)));
}

void matmul_cublas_bf16_tc(float* c, const float* a, const float* b, const MatmulShape& s) {
  const float one = 1, zero = 0;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(cublas_handle, CUBLAS_OP_N, CUBLAS_OP_N, int(s.N), int(s.M), int(s.K), &one, b, CUDA_R_32F,
                                          int(s.N), s.stride_b, a, CUDA_R_32F, int(s.K), s.stride_a, &zero, c, CUDA_R_32F, int(s.N),
                                          s.M * s.N, int(s.batch), CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
}

using MatmulFn = void (*)(float*, const float*, const float*, const MatmulShape&);

struct Entry {
  const char* name;
  MatmulFn fn;
};

// The last measured GFLOP/s of each (version, square size): the table printed after the run.
std::map<std::string, std::map<int64_t, double>> square_results;

void bm_matmul(benchmark::State& state, Entry e, MatmulShape s, bool square) {
  DeviceFloats a(s.batch * s.M * s.K, 1), b((s.stride_b == 0 ? 1 : s.batch) * s.K * s.N, 2), c(s.batch * s.M * s.N, 3);
  const double seconds = lab::bench::time_on_gpu(state, [&] { e.fn(c.ptr, a.ptr, b.ptr, s); });
  // GFLOP/s = 2 batch M N K (a multiply and an add per term) per product / seconds
  const double gflops = 2.0 * double(s.batch) * double(s.M) * double(s.N) * double(s.K) * double(state.iterations()) / seconds / 1e9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["%FP32peak"] = 100.0 * gflops / peak_gflops;
  if (square) square_results[e.name][s.M] = gflops;
}

// One row per version: GFLOP/s at each square size; then the fastest f32 version against cuBLAS.
void print_square_table(const std::vector<Entry>& entries, const std::vector<int64_t>& sizes) {
  std::printf("\nGFLOP/s by square size n (C[n,n] = A[n,n] B[n,n]); FP32 peak %.0f GFLOP/s\n%-28s", peak_gflops, "version");
  for (int64_t n : sizes) std::printf(" %9lld", static_cast<long long>(n));
  std::printf("\n");
  for (const Entry& e : entries) {
    std::printf("%-28s", e.name);
    for (int64_t n : sizes) std::printf(" %9.0f", square_results[e.name].count(n) ? square_results[e.name][n] : 0.0);
    std::printf("\n");
  }
  std::printf("%-28s", "matmul_f32 % of cublas_sgemm");
  for (int64_t n : sizes) {
    const double ours = square_results["matmul_f32"][n], theirs = square_results["cublas_sgemm"][n];
    std::printf(" %8.1f%%", theirs > 0 ? 100.0 * ours / theirs : 0.0);
  }
  std::printf("\n%-28s", "v8_bf16_wmma % of bf16_tc");
  for (int64_t n : sizes) {
    const double ours = square_results["v8_bf16_wmma"][n], theirs = square_results["cublas_bf16_tc"][n];
    std::printf(" %8.1f%%", theirs > 0 ? 100.0 * ours / theirs : 0.0);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (lab::cuda::device_count() == 0) {
    std::printf("bench_cuda_sgemm: SKIPPED: no CUDA device: %s\n", lab::cuda::why_no_device().c_str());
    return 0;
  }
  try {
    lab::cuda::set_device(0);
    const lab::cuda::Fp32Peak peak = lab::cuda::fp32_peak(0);
    peak_gflops = peak.gflops;
    std::printf("GPU: %s\nFP32 peak (no tensor cores): %s\n", lab::cuda::device_name(0).c_str(), peak.how.c_str());
    benchmark::AddCustomContext("gpu", lab::cuda::device_name(0));
    benchmark::AddCustomContext("fp32_peak", peak.how);
    CUBLAS_CHECK(cublasCreate(&cublas_handle));
    const std::vector<Entry> entries = {
        {"v1_naive", lab::cuda::matmul_v1_naive_f32},
        {"v2_coalesced", lab::cuda::matmul_v2_coalesced_f32},
        {"v3_smem_tiled", lab::cuda::matmul_v3_smem_tiled_f32},
        {"v4_blocktiling_1d", lab::cuda::matmul_v4_blocktiling_1d_f32},
        {"v5_blocktiling_2d", lab::cuda::matmul_v5_blocktiling_2d_f32},
        {"v6_vectorized", lab::cuda::matmul_v6_vectorized_f32},
        {"v7_warptiling", lab::cuda::matmul_v7_warptiling_f32},
        {"matmul_f32", lab::cuda::matmul_f32},
        {"cublas_sgemm", matmul_cublas},
        {"v8_bf16_wmma", lab::cuda::matmul_v8_bf16_wmma},
        {"cublas_bf16_tc", matmul_cublas_bf16_tc},
    };
    const std::vector<int64_t> sizes = {256, 512, 1024, 2048, 4096};
    for (const Entry& e : entries)
      for (int64_t n : sizes)
        benchmark::RegisterBenchmark((std::string(e.name) + "/" + std::to_string(n)).c_str(), bm_matmul, e, MatmulShape{1, n, n, n, 0, 0}, true)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    // Lesson 04's GPT step (B*T = 2048 rows, C = 128, 3C = 384, vocabulary 256, 64 heads of [128, 32]).
    const std::vector<std::pair<const char*, MatmulShape>> gpt = {
        {"gpt_qkv_fwd", {1, 2048, 384, 128, 0, 0}},         {"gpt_qkv_bwd_dx", {1, 2048, 128, 384, 0, 0}},
        {"gpt_qkv_bwd_dW", {1, 384, 128, 2048, 0, 0}},      {"gpt_attn_q_kT", {64, 128, 128, 32, 128 * 32, 32 * 128}},
        {"gpt_attn_p_v", {64, 128, 32, 128, 128 * 128, 128 * 32}}, {"gpt_lm_head", {1, 2048, 256, 128, 0, 0}},
    };
    for (const auto& [shape_name, s] : gpt)
      for (const Entry& e : entries)
        benchmark::RegisterBenchmark((std::string(e.name) + "/" + shape_name).c_str(), bm_matmul, e, s, false)
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
    benchmark::RunSpecifiedBenchmarks();
    print_square_table(entries, sizes);
    CUBLAS_CHECK(cublasDestroy(cublas_handle));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_sgemm: %s\n", e.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
