// The CUDA runtime calls of cuda/runtime.h, and the error reporting behind CUDA_CHECK and CUDA_CHECK_LAUNCH.
//
// Every call is checked and throws CudaError (cuda/cuda_error.h) on failure, with two exceptions on
// purpose: device_count() answers 0 instead (no GPU or no driver is a normal situation, not an error),
// and free() only prints, because it runs in destructors, where a throw would end the program.
// Not here: memory accounting and the budget (tensor/allocator.cpp), kernels (the other .cu files).
#include "cuda/runtime.h"

#include "cuda/cuda_check.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

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
             "rerun with CUDA_LAUNCH_BLOCKING=1 (each launch check then names the kernel), or under compute-sanitizer, to find it";
    case cudaErrorInvalidConfiguration:
      return "the launch asked for more threads or blocks than the GPU allows; the sizes above are out of the kernel's range "
             "(a loralab bug when they came from a tensor op: please report it with the shapes)";
    default:
      return "";
  }
}

namespace {

// "/home/x/loralab/cuda/copy.cu" -> "cuda/copy.cu" (CMake defines LAB_SOURCE_DIR).
const char* project_relative(const char* file) {
  const size_t root = std::strlen(LAB_SOURCE_DIR);
  return root > 0 && std::strncmp(file, LAB_SOURCE_DIR, root) == 0 ? file + root : file;
}

// "<what>: <CUDA's words> (<cudaErrorName>) (HINT: ...) (at <file>:<line>)", lab::Error's order.
[[noreturn]] void throw_error(const std::string& what, const char* file, int line, cudaError_t status) {
  // Reset CUDA's last-error slot, so a later check does not report this one again (a sticky error,
  // one that breaks the context, stays: every later call reports it, as CUDA does).
  (void)cudaGetLastError();
  std::string message = what + ": " + cudaGetErrorString(status) + " (" + cudaGetErrorName(status) + ")";
  const char* hint = hint_for(status);
  if (*hint) message += std::string(" (HINT: ") + hint + ")";
  message += std::string(" (at ") + project_relative(file) + ":" + std::to_string(line) + ")";
  throw CudaError(message, int(status), status == cudaErrorMemoryAllocation);
}

}  // namespace

[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, int code) {
  throw_error(std::string("CUDA error in ") + call, file, line, static_cast<cudaError_t>(code));
}

[[noreturn]] void throw_launch_error(const std::string& kernel, std::initializer_list<LaunchSize> sizes, const char* file, int line,
                                     int code) {
  std::string what = "CUDA error in " + kernel + " (";
  bool first = true;
  for (const LaunchSize& s : sizes) {
    what += (first ? "" : ", ") + std::string(s.name) + " " + std::to_string(s.value);
    first = false;
  }
  throw_error(what + ")", file, line, static_cast<cudaError_t>(code));
}

cudaError_t launch_status() {
  // Read once: the environment of a running program does not change under it.
  static const bool blocking = [] {
    const char* v = std::getenv("CUDA_LAUNCH_BLOCKING");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  if (blocking) {
    const cudaError_t status = cudaDeviceSynchronize();
    if (status != cudaSuccess) return status;
  }
  return cudaGetLastError();
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
  // Out of memory is a CudaError with out_of_memory() set; tensor/allocator.cpp adds the card's free memory and a HINT.
  CUDA_CHECK(cudaMalloc(&ptr, bytes));
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

namespace {
__global__ void empty_kernel() {}
}  // namespace

void launch_empty_kernel(int64_t blocks, int64_t threads) {
  empty_kernel<<<unsigned(blocks), unsigned(threads)>>>();
  CUDA_CHECK_LAUNCH("empty_kernel", {"blocks", blocks}, {"threads", threads});
}

}  // namespace lab::cuda
