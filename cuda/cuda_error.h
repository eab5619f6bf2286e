// CudaError: what cuda/ throws when the CUDA runtime or a kernel launch fails: a lab::Error, so a
// GPU failure reaches every caller as any other error does. Plain C++ (no CUDA headers, and of ours
// only tensor/error_types.h, which needs nothing but the standard library), so tensor/allocator.cpp
// can catch it by type and tell out-of-memory from other failures.
//
// Its message has lab::Error's form: what failed and with which sizes, CUDA's words, a HINT, then
// "(at cuda/file.cu:line)". Thrown by CUDA_CHECK and CUDA_CHECK_LAUNCH (cuda/cuda_check.h).
// Next: cuda_check.h.
#pragma once

#include "tensor/error_types.h"

#include <string>

namespace lab::cuda {

class CudaError : public Error {
public:
  CudaError(const std::string& what, int code, bool out_of_memory) : Error(what), code_(code), out_of_memory_(out_of_memory) {}
  int code() const { return code_; }                     // the cudaError_t, as an int
  bool out_of_memory() const { return out_of_memory_; }  // cudaErrorMemoryAllocation

private:
  int code_;
  bool out_of_memory_;
};

}  // namespace lab::cuda
