// Managed (unified) memory for the paged optimizer (optim/page_manager.h): one cudaMallocManaged
// block per page, moved between the GPU and host memory with cudaMemPrefetchAsync, as bitsandbytes'
// paged optimizers do. The page manager decides when; these calls only move and wait.
// Never oversubscribed: malloc_managed refuses more than cudaMemGetInfo says is free, so the pressure
// that pages state out always comes from loralab's budget (tensor/allocator.h), not from the card.
// Not here: the update kernels (cuda/adamw.cu runs on a page as on any buffer), the accounting.
// Plain C++ (no CUDA headers), so optim/ can call it with or without nvcc.
#pragma once

#include <cstddef>

namespace lab::cuda {

// cudaMallocManaged of `bytes` (cudaMemAttachGlobal), zeroed and placed on the host. More than the card
// has free is a CudaError with out_of_memory() set, raised before asking the driver.
void* malloc_managed(int device, size_t bytes);
void free_managed(void* ptr);  // never throws (it runs in destructors): a failure is printed to stderr

// cudaMemPrefetchAsync of [ptr, ptr + bytes) to the GPU `device`, or to the host (cudaCpuDeviceId),
// on the default stream, then waits for it: the time the move takes is the time the call takes.
void prefetch_to_device(const void* ptr, size_t bytes, int device);
void prefetch_to_host(const void* ptr, size_t bytes);

}  // namespace lab::cuda
