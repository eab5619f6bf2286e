// The CUDA execution model on the CPU, to run cuda/ where there is no GPU (README.md beside this file).
//
// Every .cu file of cuda/ is compiled as C++ with this header included first, after translate.cmake
// has rewritten each launch `k<T><<<grid, block>>>(args)` into `::emu::Launch("k<T>", k<T>, grid, block)(args)`.
// A launch runs the grid's blocks one after another; the threads of a block are fibers on the host
// thread (scheduler.cpp), so a thread runs until it waits at a barrier (__syncthreads, __syncwarp, a
// shuffle), and the block's other threads run until they reach it too. `__shared__` is `static`:
// with one block at a time on one host thread, a static is exactly one block's shared memory.
//
// What it checks beyond the results: launch limits (cudaErrorInvalidConfiguration, as a GPU reports
// them), barriers that not every live thread reaches (a hang or worse on a GPU: here a fault naming
// the kernel and the threads), shuffles that read a lane outside the mask or one that exited,
// warp-collective WMMA calls made with different arguments by different lanes, and host code that
// touches device memory (runtime.cpp). Races show as wrong answers under LAB_EMULATOR_SCHEDULE=
// low-first, high-first or random:SEED (scheduler.cpp), which change the order of turns.
// What it cannot show: speed, memory ordering between threads that a GPU runs at the same time, a
// race that no order of turns exposes, and the GPU's own rounding of expf/logf/tanhf.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __launch_bounds__(...)
#define __grid_constant__  // a kernel parameter read in place (cuda/nf4.cu says why); plain on the CPU
#define __align__(n) __attribute__((aligned(n)))
#define __CUDA_ARCH__ 900  // an H200's, so cuda/'s sm_80+ paths (bf16 WMMA) are the ones emulated
#define __trap() ::emu::device_fault("__trap() was called")

// Built with AddressSanitizer (the emulator's own files announce fiber switches to it, and poison
// device memory outside live allocations, so a kernel's out-of-bounds access is reported).
#if defined(__SANITIZE_ADDRESS__)
#define EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_ASAN 1
#endif
#endif

namespace emu {

struct Thread {
  uint3 thread_idx, block_idx;
  unsigned rank;  // threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)
  unsigned lane;  // rank % 32
};
extern thread_local Thread* current;  // the CUDA thread running now; set by the scheduler
extern dim3 grid_dim, block_dim;      // of the kernel running now

void sync_block();                                      // __syncthreads
void sync_warp(unsigned mask);                          // __syncwarp
uint64_t shuffle(unsigned mask, uint64_t bits, unsigned src_lane);  // every lane in mask posts its bits, then reads src_lane's
void warp_collective(const char* what, const void* p, unsigned ldm);  // all 32 lanes, same p and ldm
[[noreturn]] void device_fault(const char* what);       // prints the kernel, block and thread, then aborts
void open_device_memory();                              // device memory readable (nested; runtime.cpp)
void close_device_memory();

// Runs body(ctx) as every thread of every block; returns cudaErrorInvalidConfiguration (and runs
// nothing) for a launch a GPU would refuse. The result also goes to the last-error slot.
cudaError_t run_kernel(const char* name, dim3 grid, dim3 block, size_t dynamic_shared, void (*body)(void*), void* ctx);

template <typename... P>
struct Launch {
  const char* name;
  void (*kernel)(P...);
  dim3 grid, block;
  size_t dynamic_shared;
  Launch(const char* n, void (*k)(P...), dim3 g, dim3 b, size_t shared = 0, cudaStream_t = nullptr)
      : name(n), kernel(k), grid(g), block(b), dynamic_shared(shared) {}
  template <typename... A>
  void operator()(A&&... args) {
    std::tuple<std::decay_t<P>...> copies(std::forward<A>(args)...);  // a launch copies its arguments
    auto body = [&] { std::apply(kernel, copies); };  // each thread's parameters: copies of those
    run_kernel(name, grid, block, dynamic_shared, [](void* ctx) { (*static_cast<decltype(body)*>(ctx))(); }, &body);
  }
};
template <typename... P>
Launch(const char*, void (*)(P...), dim3, dim3, size_t = 0, cudaStream_t = nullptr) -> Launch<P...>;

template <typename T>
T shuffle_value(unsigned mask, T v, unsigned src_lane) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffles move 4 or 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = shuffle(mask, bits, src_lane);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

}  // namespace emu

#define threadIdx (::emu::current->thread_idx)
#define blockIdx (::emu::current->block_idx)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads() { emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::sync_warp(mask); }

// Lanes are numbered within segments of `width`; a source outside the segment reads its own value.
template <typename T> T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  const unsigned lane = emu::current->lane, base = lane & ~unsigned(width - 1);
  return emu::shuffle_value(mask, v, base + (unsigned(src) & unsigned(width - 1)));
}
template <typename T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  const unsigned lane = emu::current->lane, base = lane & ~unsigned(width - 1), src = lane ^ unsigned(lane_mask);
  return emu::shuffle_value(mask, v, src >= base + unsigned(width) ? lane : src);
}
template <typename T> T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const unsigned lane = emu::current->lane;
  return emu::shuffle_value(mask, v, (lane & unsigned(width - 1)) + delta >= unsigned(width) ? lane : lane + delta);
}
// Threads take turns on one host thread, so a read-modify-write is atomic as written.
// (Only what cuda/ calls is here: a kernel that needs more fails to compile, and gets it added.)
template <typename T> T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// The _rn intrinsics: one IEEE operation each, rounded to nearest, never fused into an FMA (the
// emulated files are compiled with -ffp-contract=off, so neither is anything else).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __double2float_rn(double d) { return float(d); }
inline int __float2int_rn(float f) { return int(std::nearbyint(f)); }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
using std::isinf, std::signbit;  // CUDA has them in the global namespace
// Four signed bytes of a times those of b, summed onto c.
inline int __dp4a(int a, int b, int c) {
  for (int i = 0; i < 4; i++) c += int(int8_t(a >> (8 * i))) * int(int8_t(b >> (8 * i)));
  return c;
}
// CUDA's min and max for mixed arithmetic types, as device code calls them unqualified.
template <typename A, typename B> inline std::common_type_t<A, B> min(A a, B b) { return b < a ? b : a; }
template <typename A, typename B> inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }
