// The memory-bound GPU kernels of cuda/ (elementwise add, sum) at 16M elements. The matmul
// versions and cuBLAS: bench/bench_cuda_sgemm.cpp.
//
// Each iteration is timed with CUDA events around the launch (UseManualTime), so the figure is GPU
// time. Counter: GB/s = bytes read and written / seconds. For scale, an H200 reads 4.8 TB/s from HBM3e.
// Without a GPU it prints why and exits 0. Run: build/bench/bench_cuda --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include "bench/gpu_timing.h"
#include "cuda/cuda_check.h"
#include "cuda/elementwise.h"
#include "cuda/reduce.h"
#include "cuda/runtime.h"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using lab::bench::DeviceFloats;
using lab::bench::time_on_gpu;

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
  // One long row takes the two-pass path; its scratch is made once, outside the timed loop, as the
  // framework's allocator would hand it over.
  const size_t scratch_bytes = lab::cuda::reduce_scratch_bytes(1, n, 1, sizeof(float), false);
  DeviceFloats x(n, 1), out(1, 2), scratch(int64_t(scratch_bytes / sizeof(float)) + 1, 0);
  const double seconds = time_on_gpu(state, [&] { lab::cuda::sum_f32(out.ptr, x.ptr, 1, n, 1, scratch.ptr); });
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
    benchmark::RegisterBenchmark("add_f32", bm_add)->Arg(int64_t(1) << 24)->UseManualTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("sum_f32", bm_sum)->Arg(int64_t(1) << 24)->UseManualTime()->Unit(benchmark::kMicrosecond);
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda: %s\n", e.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
