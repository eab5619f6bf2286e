// The CUDA runtime calls of cuda/runtime.h, and the error reporting behind CUDA_CHECK.
//
// Every call is checked and throws std::runtime_error on failure, with two exceptions on purpose:
// device_count() answers 0 instead (no GPU or no driver is a normal situation, not an error), and
// free() only prints, because it runs in destructors, where a throw would end the program.
// Not here: memory accounting and the budget (tensor/allocator.cpp), kernels (the other .cu files).
#include "cuda/runtime.h"

#include "cuda/cuda_check.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

#ifndef LAB_SOURCE_DIR
#define LAB_SOURCE_DIR ""
#endif

namespace lab::cuda {

// What to do about the errors a user is likely to meet; empty when CUDA's message says it all.
static const char* hint_for(cudaError_t code) {
  switch (code) {
    case cudaErrorMemoryAllocation:
      return "the GPU is out of memory: free tensors, use a smaller model or batch, or check nvidia-smi for other processes";
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
      return "check that nvidia-smi sees the GPU and that the driver is at least as new as the CUDA toolkit";
    case cudaErrorInvalidDevice:
      return "the device index is larger than the number of GPUs (see nvidia-smi and CUDA_VISIBLE_DEVICES)";
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
      return "loralab was compiled for other GPU architectures: reconfigure with -DCMAKE_CUDA_ARCHITECTURES=native";
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
      return "a kernel touched memory outside its buffers; kernels run asynchronously, so the failing one may be earlier: "
             "rerun with CUDA_LAUNCH_BLOCKING=1, or under compute-sanitizer, to find it";
    default:
      return "";
  }
}

[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, int code) {
  // Reset CUDA's last-error slot, so a later CUDA_CHECK(cudaGetLastError()) does not report this one again.
  (void)cudaGetLastError();
  // "/home/x/loralab/cuda/copy.cu" -> "cuda/copy.cu" (CMake defines LAB_SOURCE_DIR).
  const size_t root = std::strlen(LAB_SOURCE_DIR);
  if (root > 0 && std::strncmp(file, LAB_SOURCE_DIR, root) == 0) file += root;
  const auto status = static_cast<cudaError_t>(code);
  std::string message = std::string("CUDA error in ") + call + " at " + file + ":" + std::to_string(line) + ": " +
                        cudaGetErrorName(status) + ": " + cudaGetErrorString(status);
  const char* hint = hint_for(status);
  if (*hint) message += std::string(" (HINT: ") + hint + ")";
  throw std::runtime_error(message);
}

namespace {

// Asked once per process: the device count cannot change while the program runs.
struct Probe {
  int count = 0;
  std::string why;
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    const cudaError_t status = cudaGetDeviceCount(&r.count);
    if (status != cudaSuccess) {
      r.count = 0;
      r.why = std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
      (void)cudaGetLastError();
    } else if (r.count == 0) {
      r.why = "the CUDA driver reports 0 devices";
    }
    return r;
  }();
  return p;
}

}  // namespace

int device_count() { return probe().count; }
std::string why_no_device() { return probe().why; }

std::string device_name(int device) {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

void set_device(int device) { CUDA_CHECK(cudaSetDevice(device)); }

void free_and_total_memory(int device, size_t* free_bytes, size_t* total_bytes) {
  int current = 0;
  CUDA_CHECK(cudaGetDevice(&current));
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaMemGetInfo(free_bytes, total_bytes));
  CUDA_CHECK(cudaSetDevice(current));
}

void* malloc(int device, size_t bytes) {
  set_device(device);
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    (void)cudaMemGetInfo(&free_bytes, &total_bytes);
    throw std::runtime_error("out of memory on cuda:" + std::to_string(device) + ": cudaMalloc of " + std::to_string(bytes) +
                             " bytes failed with " + std::to_string(free_bytes) + " of " + std::to_string(total_bytes) +
                             " bytes free (HINT: free tensors, use a smaller model or batch, or set --mem-budget below the card's size)");
  }
  CUDA_CHECK(status);
  return ptr;
}

void free(int device, void* ptr) {
  if (!ptr) return;
  cudaError_t status = cudaSetDevice(device);
  if (status == cudaSuccess) status = cudaFree(ptr);
  // At process exit the runtime may already be gone (cudaErrorCudartUnloading): nothing to free then.
  if (status != cudaSuccess && status != cudaErrorCudartUnloading)
    std::fprintf(stderr, "loralab: cudaFree on cuda:%d failed: %s: %s (the memory is lost; an earlier kernel error is the likely cause)\n",
                 device, cudaGetErrorName(status), cudaGetErrorString(status));
  (void)cudaGetLastError();
}

void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind) {
  if (bytes == 0) return;
  const cudaMemcpyKind k = kind == CopyKind::host_to_device   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::device_to_host ? cudaMemcpyDeviceToHost
                                                              : cudaMemcpyDeviceToDevice;
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, k));
}

void synchronize() { CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace lab::cuda
