// The CUDA runtime for the emulator: one device, "cuda:0", with a fixed size (LAB_EMULATED_GPU_GIB,
// default 4), so out-of-memory paths run as on a GPU. Allocations are recorded, so copies and
// prefetches are checked against them (a cudaMemcpy that runs past the end of a device buffer is
// cudaErrorInvalidValue, where a GPU might fault or copy garbage).
//
// Device memory is one reserved range of host memory that is readable only while a kernel, a copy
// or a memset runs: host code that reads or writes a device pointer itself (which would crash or
// read garbage on a GPU) faults here, and the handler names the allocation it touched. Managed
// memory is ordinary host memory, as it is host-accessible on a GPU too.
// Under AddressSanitizer, device memory outside live allocations is poisoned (each allocation is
// followed by a red zone of 256 bytes, and freed memory stays poisoned until it is given out
// again), so a kernel that reads or writes past its buffer, or a freed one, is reported there, with
// the kernel in the stack trace.
// Errors follow CUDA's rules: a failed call returns its code and leaves it in the last-error slot,
// which cudaGetLastError reads and clears.
#include "tests/cuda_emulator/emulator.h"

#ifdef EMU_ASAN
#include <sanitizer/asan_interface.h>
#define EMU_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define EMU_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define EMU_POISON(p, n) ((void)(p), (void)(n))
#define EMU_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

namespace emu {

namespace {

struct Allocation {
  size_t bytes;
  bool managed;
};

std::map<const char*, Allocation> allocations;  // by start address
size_t allocated_bytes = 0;
cudaError_t last_error = cudaSuccess;

size_t card_bytes() {
  static const size_t bytes = [] {
    const char* gib = std::getenv("LAB_EMULATED_GPU_GIB");
    const double g = gib ? std::atof(gib) : 4.0;
    return size_t((g > 0 ? g : 4.0) * double(1ull << 30));
  }();
  return bytes;
}

// --- device memory: [arena, arena + card_bytes()), first fit over free ranges in units of 256 bytes
char* arena = nullptr;
#ifdef EMU_ASAN
constexpr size_t kRedZone = 256;  // poisoned bytes after each allocation
#else
constexpr size_t kRedZone = 0;
#endif
// What an allocation of `bytes` takes of the arena: cudaMalloc's 256-byte alignment, and the red zone.
size_t arena_bytes(size_t bytes) { return (bytes + 255) / 256 * 256 + kRedZone; }
std::map<size_t, size_t> free_ranges;  // offset -> length
int open_count = 0;                    // device memory is accessible while > 0

void handle_fault(int, siginfo_t* info, void*);

void reserve_arena() {
  if (arena) return;
  void* p = mmap(nullptr, card_bytes(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "cuda emulator: cannot reserve %zu bytes of address space for the device\n", card_bytes());
    std::abort();
  }
  arena = static_cast<char*>(p);
  free_ranges[0] = card_bytes();
  struct sigaction action{};
  action.sa_sigaction = handle_fault;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, nullptr);
}

cudaError_t fail(cudaError_t status) {
  last_error = status;
  return status;
}

// The allocation holding [p, p + bytes), or nullptr.
const Allocation* find(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  auto it = allocations.upper_bound(c);
  if (it == allocations.begin()) return nullptr;
  --it;
  const size_t offset = size_t(c - it->first);
  return offset + bytes <= it->second.bytes && offset <= it->second.bytes ? &it->second : nullptr;
}

cudaError_t allocate(void** ptr, size_t bytes, bool managed) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (bytes > card_bytes() - allocated_bytes) return fail(cudaErrorMemoryAllocation);
  char* p = nullptr;
  if (managed) {
    p = static_cast<char*>(std::aligned_alloc(256, (bytes + 255) / 256 * 256));  // cudaMalloc's alignment
    if (!p) return fail(cudaErrorMemoryAllocation);
  } else {
    const size_t rounded = arena_bytes(bytes);
    reserve_arena();
    auto it = free_ranges.begin();
    while (it != free_ranges.end() && it->second < rounded) ++it;
    if (it == free_ranges.end()) return fail(cudaErrorMemoryAllocation);  // free, but in pieces
    const size_t offset = it->first, length = it->second;
    free_ranges.erase(it);
    if (length > rounded) free_ranges[offset + rounded] = length - rounded;
    p = arena + offset;
    EMU_UNPOISON(p, bytes);
    EMU_POISON(p + bytes, rounded - bytes);
  }
  open_device_memory();
  std::memset(p, 0xA5, bytes);  // not zero: device memory starts as garbage, and a kernel must not rely on it
  close_device_memory();
  allocations[p] = {bytes, managed};
  allocated_bytes += bytes;
  *ptr = p;
  return cudaSuccess;
}

void release(char* p, size_t bytes) {
  size_t offset = size_t(p - arena), length = arena_bytes(bytes);
  EMU_POISON(p, length);  // a kernel that reads it after cudaFree is reported (under AddressSanitizer)
  auto next = free_ranges.lower_bound(offset);
  if (next != free_ranges.end() && offset + length == next->first) length += next->second, next = free_ranges.erase(next);
  if (next != free_ranges.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += length;
      return;
    }
  }
  free_ranges[offset] = length;
}

// A host access to device memory: say where, then stop as the crash it would be on a GPU.
void handle_fault(int, siginfo_t* info, void*) {
  const char* at = static_cast<const char*>(info->si_addr);
  if (arena && at >= arena && at < arena + card_bytes()) {
    char message[300];
    const Allocation* a = find(at, 1);
    int n = 0;
    if (a) {
      auto it = std::prev(allocations.upper_bound(at));
      n = std::snprintf(message, sizeof message,
                        "cuda emulator: FAULT: host code touched device memory at byte %zu of a device allocation of %zu bytes; "
                        "on a GPU that is a crash or garbage (copy with cudaMemcpy, or run a kernel)\n",
                        size_t(at - it->first), a->bytes);
    } else {
      n = std::snprintf(message, sizeof message, "cuda emulator: FAULT: host code touched device memory outside any allocation\n");
    }
    (void)!write(2, message, size_t(n));
  }
  signal(SIGSEGV, SIG_DFL);  // and let the fault happen again, as a plain segmentation fault
}

}  // namespace

void set_last_error(cudaError_t status) {
  if (status != cudaSuccess) last_error = status;
}

void open_device_memory() {
  if (open_count++ == 0 && arena) mprotect(arena, card_bytes(), PROT_READ | PROT_WRITE);
}
void close_device_memory() {
  if (--open_count == 0 && arena) mprotect(arena, card_bytes(), PROT_NONE);
}

}  // namespace emu

using emu::fail;

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *prop = {};
  std::snprintf(prop->name, sizeof prop->name, "CUDA emulator on the CPU (tests/cuda_emulator)");
  prop->totalGlobalMem = emu::card_bytes();
  prop->major = 9, prop->minor = 0, prop->multiProcessorCount = 132, prop->maxThreadsPerBlock = 1024, prop->warpSize = 32;  // an H200's
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrClockRate: *value = 1980000; return cudaSuccess;  // kHz, an H200's boost clock
    case cudaDevAttrMultiProcessorCount: *value = 132; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; return cudaSuccess;
  }
  return fail(cudaErrorInvalidValue);
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  *total_bytes = emu::card_bytes();
  *free_bytes = emu::card_bytes() - emu::allocated_bytes;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) { return emu::allocate(ptr, bytes, false); }
cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t) { return emu::allocate(ptr, bytes, false); }
cudaError_t cudaMallocManaged(void** ptr, size_t bytes, unsigned flags) {
  return flags == cudaMemAttachGlobal ? emu::allocate(ptr, bytes, true) : fail(cudaErrorInvalidValue);
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  auto it = emu::allocations.find(static_cast<char*>(ptr));
  if (it == emu::allocations.end()) return fail(cudaErrorInvalidValue);  // not from cudaMalloc, or freed twice
  emu::allocated_bytes -= it->second.bytes;
  if (it->second.managed)
    std::free(ptr);
  else
    emu::release(static_cast<char*>(ptr), it->second.bytes);
  emu::allocations.erase(it);
  return cudaSuccess;
}
cudaError_t cudaFreeAsync(void* ptr, cudaStream_t) { return cudaFree(ptr); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  const bool dst_on_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_on_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind == cudaMemcpyDefault || kind == cudaMemcpyHostToHost) return fail(cudaErrorInvalidValue);
  // Each device side must lie inside one allocation; each host side must not be device memory.
  if (dst_on_device != (emu::find(dst, bytes) != nullptr) || src_on_device != (emu::find(src, bytes) != nullptr)) {
    std::fprintf(stderr, "cuda emulator: cudaMemcpy of %zu bytes, kind %d: a pointer is not where the kind says (or runs past its buffer)\n",
                 bytes, int(kind));
    return fail(cudaErrorInvalidValue);
  }
  emu::open_device_memory();
  std::memmove(dst, src, bytes);
  emu::close_device_memory();
  return cudaSuccess;
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!emu::find(ptr, bytes)) return fail(cudaErrorInvalidValue);
  emu::open_device_memory();
  std::memset(ptr, value, bytes);
  emu::close_device_memory();
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) { return cudaMemset(ptr, value, bytes); }

cudaError_t cudaMemPrefetchAsync(const void* ptr, size_t bytes, cudaMemLocation location, unsigned flags, cudaStream_t) {
  const emu::Allocation* a = emu::find(ptr, bytes);
  const bool where_ok = (location.type == cudaMemLocationTypeDevice && location.id == 0) || location.type == cudaMemLocationTypeHost;
  if (!a || !a->managed || !where_ok || flags != 0) return fail(cudaErrorInvalidValue);
  return cudaSuccess;  // one memory: nothing moves
}

cudaError_t cudaDeviceSynchronize() { return emu::last_error; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return emu::last_error; }

cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::last_error;
  emu::last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return emu::last_error; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorCudartUnloading: return "cudaErrorCudartUnloading";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorNoKernelImageForDevice: return "cudaErrorNoKernelImageForDevice";
    case cudaErrorUnsupportedPtxVersion: return "cudaErrorUnsupportedPtxVersion";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
  }
  return "cudaErrorUnknown";
}

// CUDA's own words for each code.
const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorCudartUnloading: return "driver shutting down";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorNoKernelImageForDevice: return "no kernel image is available for execution on the device";
    case cudaErrorUnsupportedPtxVersion: return "the provided PTX was compiled with an unsupported toolchain.";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
  }
  return "unknown error";
}
