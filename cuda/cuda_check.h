// CUDA_CHECK(call): check a CUDA runtime call and throw on failure, naming the call, the file and
// line, and CUDA's own message. Use it around every runtime call and, as
// CUDA_CHECK(cudaGetLastError()), after every kernel launch.
//
// It throws std::runtime_error, not lab::Error, because cuda/ depends on nothing else of loralab's;
// both derive from std::runtime_error, so a program's main() catches them the same way.
// Only .cu files (and programs that include cuda_runtime.h themselves) need this header.
#pragma once

#include <cuda_runtime.h>

namespace lab::cuda {

// Throws std::runtime_error("CUDA error in <call> at cuda/file.cu:<line>: <name>: <message> (HINT: ...)").
[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, int code);

}  // namespace lab::cuda

#define CUDA_CHECK(call)                                                                    \
  do {                                                                                      \
    const cudaError_t lab_cuda_status_ = (call);                                            \
    if (lab_cuda_status_ != cudaSuccess)                                                    \
      ::lab::cuda::throw_cuda_error(#call, __FILE__, __LINE__, static_cast<int>(lab_cuda_status_)); \
  } while (0)
