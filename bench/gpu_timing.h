// What the GPU benchmarks share: a CUDA-event pair, a buffer of floats on the device, and the timing
// loop (one warm-up launch, then each iteration between two events, reported with UseManualTime so the
// figure is GPU time, not the host's). Only built where nvcc is (LAB_HAS_CUDA).
// Not here: what each benchmark counts (bytes or flops), which stays beside its launch.
#pragma once

#include <benchmark/benchmark.h>

#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

#include <cstdint>
#include <vector>

namespace lab::bench {

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
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
};

// n floats on the GPU, uniform in [-1, 1) from a fixed LCG (the values do not change the timing).
struct DeviceFloats {
  float* ptr;
  explicit DeviceFloats(int64_t n, uint32_t seed) : ptr(static_cast<float*>(cuda::malloc(0, size_t(n) * sizeof(float)))) {
    std::vector<float> host(static_cast<size_t>(n));
    for (float& v : host) {
      seed = seed * 1664525u + 1013904223u;
      v = float(seed >> 8) / float(1 << 23) - 1.0f;
    }
    cuda::memcpy(ptr, host.data(), host.size() * sizeof(float), cuda::CopyKind::host_to_device);
  }
  ~DeviceFloats() { cuda::free(0, ptr); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
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

}  // namespace lab::bench
