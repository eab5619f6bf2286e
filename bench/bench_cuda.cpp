// The GPU kernels of cuda/, timed beside cuBLAS in the same run: square f32 matmul (v1 naive,
// v2 shared-memory tiles, cuBLAS sgemm) at 256..4096, and the memory-bound kernels (elementwise
// add, sum) at 16M elements.
//
// Each iteration is timed with CUDA events around the launch (UseManualTime), so the figure is GPU
// time. Counters: GFLOP/s = 2 M N K / seconds; GB/s = bytes read and written / seconds. For scale,
// an H200 peaks near 67 TFLOP/s in FP32 (no tensor cores) and 4.8 TB/s from HBM3e.
// Without a GPU it prints why and exits 0. Run: build/bench/bench_cuda --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <cublas_v2.h>

#include "cuda/cuda_check.h"
#include "cuda/elementwise.h"
#include "cuda/matmul.h"
#include "cuda/reduce.h"
#include "cuda/runtime.h"

#include <cstdio>
#include <exception>
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

// n floats on the GPU, uniform in [-1, 1) from a fixed LCG (the values do not change the timing).
struct DeviceFloats {
  float* ptr;
  explicit DeviceFloats(int64_t n, uint32_t seed) : ptr(static_cast<float*>(lab::cuda::malloc(0, size_t(n) * sizeof(float)))) {
    std::vector<float> host(static_cast<size_t>(n));
    for (float& v : host) {
      seed = seed * 1664525u + 1013904223u;
      v = float(seed >> 8) / float(1 << 23) - 1.0f;
    }
    lab::cuda::memcpy(ptr, host.data(), host.size() * sizeof(float), lab::cuda::CopyKind::host_to_device);
  }
  ~DeviceFloats() { lab::cuda::free(0, ptr); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
};

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  Events() {
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~Events() {
    (void)cudaEventDestroy(start);
    (void)cudaEventDestroy(stop);
  }
};

// Runs `launch` once to warm up, then once per iteration between two events; returns the GPU seconds in all.
template <typename Launch> double time_on_gpu(benchmark::State& state, Launch launch) {
  Events events;
  launch();
  CUDA_CHECK(cudaDeviceSynchronize());
  double seconds = 0;
  for (auto _ : state) {
    CUDA_CHECK(cudaEventRecord(events.start));
    launch();
    CUDA_CHECK(cudaEventRecord(events.stop));
    CUDA_CHECK(cudaEventSynchronize(events.stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, events.start, events.stop));
    state.SetIterationTime(ms / 1e3);
    seconds += ms / 1e3;
  }
  return seconds;
}

// Row-major C = A B is column-major C^T = B^T A^T, so cuBLAS gets B first and the dims swapped.
// The handle's default math mode is plain FP32 (no TF32), the same arithmetic as our kernels.
void matmul_cublas(float* c, const float* a, const float* b, const MatmulShape& s) {
  const float one = 1, zero = 0;
  CUBLAS_CHECK(cublasSgemm(cublas_handle, CUBLAS_OP_N, CUBLAS_OP_N, int(s.N), int(s.M), int(s.K), &one, b, int(s.N), a, int(s.K),
                           &zero, c, int(s.N)));
}

using MatmulFn = void (*)(float*, const float*, const float*, const MatmulShape&);

void bm_matmul(benchmark::State& state, MatmulFn matmul) {
  const int64_t n = state.range(0);
  DeviceFloats a(n * n, 1), b(n * n, 2), c(n * n, 3);
  const MatmulShape s{1, n, n, n, 0, 0};
  const double seconds = time_on_gpu(state, [&] { matmul(c.ptr, a.ptr, b.ptr, s); });
  // GFLOP/s = 2 n^3 (a multiply and an add per term) per matmul / seconds
  state.counters["GFLOP/s"] = 2.0 * double(n) * double(n) * double(n) * double(state.iterations()) / seconds / 1e9;
}

lab::cuda::Layout vector_layout(int64_t n) {
  lab::cuda::Layout l;
  l.ndim = 1;
  l.shape[0] = n;
  l.stride[0] = 1;
  return l;
}

void bm_add(benchmark::State& state) {
  const int64_t n = state.range(0);
  DeviceFloats a(n, 1), b(n, 2), c(n, 3);
  const lab::cuda::Layout l = vector_layout(n);
  const double seconds = time_on_gpu(state, [&] { lab::cuda::binary_f32(lab::cuda::BinaryOp::add, c.ptr, a.ptr, l, b.ptr, l); });
  // GB/s = (read a, read b, write c) 12 bytes per element / seconds
  state.counters["GB/s"] = 12.0 * double(n) * double(state.iterations()) / seconds / 1e9;
}

void bm_sum(benchmark::State& state) {
  const int64_t n = state.range(0);
  DeviceFloats x(n, 1), out(1, 2);
  const double seconds = time_on_gpu(state, [&] { lab::cuda::sum_f32(out.ptr, x.ptr, 1, n, 1); });
  // GB/s = 4 bytes read per element / seconds
  state.counters["GB/s"] = 4.0 * double(n) * double(state.iterations()) / seconds / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (lab::cuda::device_count() == 0) {
    std::printf("bench_cuda: SKIPPED: no CUDA device: %s\n", lab::cuda::why_no_device().c_str());
    return 0;
  }
  try {
    lab::cuda::set_device(0);
    benchmark::AddCustomContext("gpu", lab::cuda::device_name(0));
    CUBLAS_CHECK(cublasCreate(&cublas_handle));
    const std::vector<std::pair<const char*, MatmulFn>> matmuls = {
        {"matmul_v1_naive", lab::cuda::matmul_v1_naive_f32},
        {"matmul_v2_smem_tiled", lab::cuda::matmul_v2_smem_tiled_f32},
        {"matmul_cublas", matmul_cublas},
    };
    for (const auto& [name, fn] : matmuls) {
      auto* b = benchmark::RegisterBenchmark(name, bm_matmul, fn);
      for (int64_t n : {256, 512, 1024, 2048, 4096}) b->Arg(n);
      b->UseManualTime()->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark("add_f32", bm_add)->Arg(int64_t(1) << 24)->UseManualTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("sum_f32", bm_sum)->Arg(int64_t(1) << 24)->UseManualTime()->Unit(benchmark::kMicrosecond);
    benchmark::RunSpecifiedBenchmarks();
    CUBLAS_CHECK(cublasDestroy(cublas_handle));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda: %s\n", e.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
