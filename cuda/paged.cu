// The managed-memory calls of cuda/paged.h. CUDA 13's cudaMemPrefetchAsync takes a cudaMemLocation
// (cudaMemLocationTypeDevice + the GPU's index, or cudaMemLocationTypeHost) and a flags word, where
// CUDA 12 took an int device (cudaCpuDeviceId for the host); both are the same move.
// Not here: which page moves when (optim/page_manager.cpp), the budget (tensor/allocator.cpp).
#include "cuda/paged.h"

#include "cuda/cuda_check.h"
#include "cuda/cuda_error.h"

#include <cstdio>
#include <string>

namespace lab::cuda {

void* malloc_managed(int device, size_t bytes) {
  CUDA_CHECK(cudaSetDevice(device));
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  // Managed memory can exceed the card (the driver would then page on faults); the paged optimizer
  // must never lean on that, so a request larger than what is free now is refused here.
  if (bytes > free_bytes)
    throw CudaError("CUDA error in malloc_managed: " + std::to_string(bytes) + " bytes asked, " + std::to_string(free_bytes) + " of " +
                        std::to_string(total_bytes) + " free on cuda:" + std::to_string(device) +
                        " (HINT: the paged optimizer never oversubscribes the card; use a smaller model or free GPU memory)",
                    int(cudaErrorMemoryAllocation), true);
  void* ptr = nullptr;
  CUDA_CHECK(cudaMallocManaged(&ptr, bytes, cudaMemAttachGlobal));
  CUDA_CHECK(cudaMemset(ptr, 0, bytes));
  prefetch_to_host(ptr, bytes);  // born on the host, as a page that was never brought in
  return ptr;
}

void free_managed(void* ptr) {
  if (!ptr) return;
  const cudaError_t status = cudaFree(ptr);
  if (status != cudaSuccess && status != cudaErrorCudartUnloading)
    std::fprintf(stderr, "loralab: cudaFree of managed memory failed: %s: %s (the memory is lost)\n", cudaGetErrorName(status),
                 cudaGetErrorString(status));
  (void)cudaGetLastError();
}

void prefetch_to_device(const void* ptr, size_t bytes, int device) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaSetDevice(device));
#if CUDART_VERSION >= 13000
  cudaMemLocation where{};
  where.type = cudaMemLocationTypeDevice;
  where.id = device;
  CUDA_CHECK(cudaMemPrefetchAsync(ptr, bytes, where, 0, 0));
#else
  CUDA_CHECK(cudaMemPrefetchAsync(ptr, bytes, device, 0));
#endif
  CUDA_CHECK(cudaStreamSynchronize(0));
}

void prefetch_to_host(const void* ptr, size_t bytes) {
  if (bytes == 0) return;
#if CUDART_VERSION >= 13000
  cudaMemLocation where{};
  where.type = cudaMemLocationTypeHost;
  where.id = 0;
  CUDA_CHECK(cudaMemPrefetchAsync(ptr, bytes, where, 0, 0));
#else
  CUDA_CHECK(cudaMemPrefetchAsync(ptr, bytes, cudaCpuDeviceId, 0));
#endif
  CUDA_CHECK(cudaStreamSynchronize(0));
}

}  // namespace lab::cuda
