// The few CUDA runtime calls the rest of loralab needs, behind plain C++ declarations, so that
// files outside cuda/ never include cuda_runtime.h and build the same with or without nvcc.
//
// Every call is checked: a failure throws lab::cuda::CudaError (cuda/cuda_error.h) naming the call and
// CUDA's own message (cuda/ depends on nothing of ours, so not lab::Error; see cuda/cuda_check.h).
// Memory accounting and the budget are not here: tensor/allocator.cpp does that and calls malloc().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lab::cuda {

int device_count();               // 0 when there is no GPU or no driver (never throws)
std::string why_no_device();      // CUDA's message for the above, e.g. "no CUDA-capable device is detected"
std::string device_name(int device);
void set_device(int device);
void free_and_total_memory(int device, size_t* free_bytes, size_t* total_bytes);

void* malloc(int device, size_t bytes);  // cudaMalloc on that device; CudaError::out_of_memory() when the card is full
void free(int device, void* ptr);       // never throws (it runs in destructors): a failure is printed to stderr

enum class CopyKind { host_to_device, device_to_host, device_to_device };
void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind);  // synchronous
void synchronize();                                                    // cudaDeviceSynchronize + error check

// For the tests of the error path (tests/cuda/test_cuda_errors.cpp): launches a kernel that does
// nothing with that many blocks of that many threads, checked like every other launch, so that
// threads > 1024 gives "CUDA error in empty_kernel (blocks 1, threads 2048): invalid configuration argument".
void launch_empty_kernel(int64_t blocks, int64_t threads);

}  // namespace lab::cuda
