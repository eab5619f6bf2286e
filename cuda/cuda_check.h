// Checks around every CUDA runtime call and after every kernel launch; a failure throws
// lab::cuda::CudaError (cuda/cuda_error.h) with a message in lab::Error's form:
//
//   CUDA_CHECK(cudaMemcpy(...));   "CUDA error in cudaMemcpy(...): <CUDA's words> (cudaErrorX) (HINT: ...) (at cuda/f.cu:12)"
//   kernel<<<grid, block>>>(...);
//   CUDA_CHECK_LAUNCH(kernel_name<T>("softmax"), {"outer", outer}, {"n", n});
//                                  "CUDA error in softmax_f32 (outer 8, n 129): invalid configuration argument ..."
//
// Only .cu files (and programs that include cuda_runtime.h themselves) need this header.
#pragma once

#include "cuda/cuda_error.h"

#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>
#include <string>

// CudaError derives from lab::Error (cuda_error.h), so lessons, tools and tests catch a GPU failure
// as any other error. The one place a caller must tell a GPU failure apart by type is out-of-memory:
// the allocator converts it to lab::OutOfMemory with the card's free memory (tensor/allocator.cpp),
// so the paged optimizer can catch it.
//
// Kernels run asynchronously: a launch check sees bad launch configurations at once, while a fault
// inside a kernel surfaces at the next synchronizing call. With CUDA_LAUNCH_BLOCKING=1 in the
// environment every launch check also synchronizes, so such a fault names the kernel that made it.
namespace lab::cuda {

// One size of a launch, for the error message: {"rows", rows}.
struct LaunchSize {
  const char* name;
  int64_t value;
};

// Throws CudaError("CUDA error in <call> ...") for a failed runtime call.
[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, int code);
// Throws CudaError("CUDA error in <kernel> (<sizes>) ...") for a failed launch.
[[noreturn]] void throw_launch_error(const std::string& kernel, std::initializer_list<LaunchSize> sizes, const char* file, int line,
                                     int code);
// The status of the launch just made: cudaGetLastError(), after a cudaDeviceSynchronize() when
// CUDA_LAUNCH_BLOCKING=1 is set.
cudaError_t launch_status();

// "f32", "f64", ... for the kernels' element type, and "softmax" -> "softmax_f32".
template <typename T> constexpr const char* type_suffix();
template <> constexpr const char* type_suffix<float>() { return "f32"; }
template <> constexpr const char* type_suffix<double>() { return "f64"; }
template <typename T> std::string kernel_name(const char* family) { return std::string(family) + "_" + type_suffix<T>(); }

}  // namespace lab::cuda

#define CUDA_CHECK(call)                                                                    \
  do {                                                                                      \
    const cudaError_t lab_cuda_status_ = (call);                                            \
    if (lab_cuda_status_ != cudaSuccess)                                                    \
      ::lab::cuda::throw_cuda_error(#call, __FILE__, __LINE__, static_cast<int>(lab_cuda_status_)); \
  } while (0)

// After a launch: `kernel` (a std::string or C string) and the sizes are evaluated only on failure.
#define CUDA_CHECK_LAUNCH(kernel, ...)                                                                          \
  do {                                                                                                          \
    const cudaError_t lab_cuda_status_ = ::lab::cuda::launch_status();                                          \
    if (lab_cuda_status_ != cudaSuccess)                                                                        \
      ::lab::cuda::throw_launch_error(kernel, {__VA_ARGS__}, __FILE__, __LINE__, static_cast<int>(lab_cuda_status_)); \
  } while (0)
