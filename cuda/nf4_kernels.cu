// The GPU NF4 kernels of cuda/nf4_kernels.h: dequantization v2 and v3, the fused GEMV and GEMM.
// v1 and dequantize-then-matmul are cuda/nf4.cu's kernels, listed here so the versions sit in one table.
//
// Byte order: a 32-bit word of codes holds bytes j..j+3 little-endian, so byte j is its lowest 8
// bits, and element 2j is the high nibble of that byte. References: NVIDIA's CUDA C++ Best Practices
// Guide (coalesced and vectorized accesses); Simon Boehm's "How to Optimize a CUDA Matmul Kernel" (the
// 2-D block tiling of nf4_gemm); bitsandbytes' kDequantizeBlockwise and kgemm_4bit_inference_naive
// (csrc/kernels.cu) for the same two ideas in production.
#include "cuda/launch.cuh"
#include "cuda/matmul.h"
#include "cuda/nf4_device.cuh"
#include "cuda/nf4_kernels.h"
#include "cuda/tile_gemm.cuh"

#include <cstdint>

namespace lab::cuda {

namespace {

using nf4dev::block_absmax;
using nf4dev::Books;
using nf4dev::code_at;
using nf4dev::load_books;
using nf4dev::value_at;

constexpr int kWarp = 32;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// v2: a thread 8 values (4 bytes of codes, one 32-bit load), written as two float4. The 8 values
// start at a multiple of 8, so they share one NF4 block (blocks are >= 32 values). A last partial
// chunk (n not a multiple of 8) is decoded value by value.
__global__ void nf4_dequant_v2_kernel(float* out, NF4Weight w, const __grid_constant__ NF4Table table) {
  __shared__ Books books;
  load_books(books, table, w);
  const int64_t chunks = (w.n + 7) / 8;
  for (int64_t c = first_index(); c < chunks; c += grid_stride()) {
    const int64_t i = c * 8;
    const float a = block_absmax(w, books.map, i / w.blocksize);
    if (i + 8 <= w.n) {
      const uint32_t q = reinterpret_cast<const uint32_t*>(w.packed)[c];
      // x_{i + 2b} = NF4[high nibble of byte b] * a,  x_{i + 2b + 1} = NF4[low nibble] * a
      float v[8];
#pragma unroll
      for (int b = 0; b < 4; b++) {
        v[2 * b] = __fmul_rn(books.lut[(q >> (8 * b + 4)) & 0x0f], a);
        v[2 * b + 1] = __fmul_rn(books.lut[(q >> (8 * b)) & 0x0f], a);
      }
      float4* o = reinterpret_cast<float4*>(out + i);
      o[0] = make_float4(v[0], v[1], v[2], v[3]);
      o[1] = make_float4(v[4], v[5], v[6], v[7]);
    } else {
      for (int64_t e = i; e < w.n; e++) out[e] = __fmul_rn(books.lut[code_at(w.packed, e)], a);
    }
  }
}

// v3: a warp moves 1024 values (512 bytes of codes) a step. Loads: one 128-bit load a lane (32
// values, chunk `lane` of the warp's 32). Stores: 8 rounds of one float4 a lane, each round 512
// contiguous bytes: in round s, lane l writes values [4 (32 s + l), +4), which sit in chunk
// 4 s + l / 8, word (l % 8) / 2, its low or high 16 bits (l % 2); the word and the absmax come from
// the lane that loaded that chunk, by __shfl_sync. The table lives in registers too: lane l holds
// NF4[l % 16], and __shfl_sync(lut, code) reads the lane the code names. Shuffles need the whole
// warp, so the loop runs warp by warp; the warp that reaches the end of the tensor (fewer than 1024
// values left) decodes them one by one instead.
__global__ void nf4_dequant_v3_kernel(float* out, NF4Weight w, const __grid_constant__ NF4Table table) {
  __shared__ Books books;
  load_books(books, table, w);
  constexpr unsigned kAll = 0xffffffffu;
  const int lane = threadIdx.x % kWarp;
  const float lut = books.lut[lane % 16];
  const int64_t chunks = (w.n + 31) / 32;
  for (int64_t base = first_index() - lane; base < chunks; base += grid_stride()) {
    const int64_t first = base * 32;  // the warp's first value
    if (first + 32 * kWarp <= w.n) {
      const uint4 q = reinterpret_cast<const uint4*>(w.packed)[base + lane];
      const float a_mine = block_absmax(w, books.map, (first + 32 * lane) / w.blocksize);  // 32 values never straddle a block
      float4* o = reinterpret_cast<float4*>(out + first);
#pragma unroll
      for (int s = 0; s < 8; s++) {
        const int src = 4 * s + lane / 8, word = (lane % 8) / 2;
        const uint32_t q0 = __shfl_sync(kAll, q.x, src), q1 = __shfl_sync(kAll, q.y, src), q2 = __shfl_sync(kAll, q.z, src),
                       q3 = __shfl_sync(kAll, q.w, src);
        const uint32_t bits = word == 0 ? q0 : word == 1 ? q1 : word == 2 ? q2 : q3;
        const uint32_t half = lane % 2 ? bits >> 16 : bits & 0xffffu;  // bytes 2-3 or 0-1: 4 values
        const float a = __shfl_sync(kAll, a_mine, src);
        // value 2j = NF4[high nibble of byte j] * a, value 2j + 1 = NF4[low nibble] * a
        o[32 * s + lane] = make_float4(__fmul_rn(__shfl_sync(kAll, lut, int((half >> 4) & 0x0f)), a),
                                       __fmul_rn(__shfl_sync(kAll, lut, int(half & 0x0f)), a),
                                       __fmul_rn(__shfl_sync(kAll, lut, int((half >> 12) & 0x0f)), a),
                                       __fmul_rn(__shfl_sync(kAll, lut, int((half >> 8) & 0x0f)), a));
      }
    } else {
      const int64_t end = min(w.n, first + 32 * kWarp);
      for (int64_t e = first + lane; e < end; e += kWarp) out[e] = value_at(w, books, e);
    }
  }
}

// y[m, j] = sum_k x[m, k] W[j, k]: a warp per (m, j), lanes across k, then a shuffle sum.
// vec: K % 8 == 0 and aligned pointers, so row j's codes start on a 4-byte boundary: a lane takes
// 8 codes (one 32-bit load, one absmax) and 8 values of x (two float4) at a time.
__global__ void nf4_gemv_kernel(float* y, const float* x, int64_t M, NF4Weight w, int64_t N, int64_t K, bool vec, const __grid_constant__ NF4Table table) {
  __shared__ Books books;
  load_books(books, table, w);
  const int lane = threadIdx.x % kWarp, warps = blockDim.x / kWarp;
  for (int64_t m = blockIdx.y; m < M; m += gridDim.y) {
    const float* xr = x + m * K;
    for (int64_t j = int64_t(blockIdx.x) * warps + threadIdx.x / kWarp; j < N; j += int64_t(gridDim.x) * warps) {
      const int64_t start = j * K;
      float s = 0;
      if (vec) {
        const uint32_t* p = reinterpret_cast<const uint32_t*>(w.packed + start / 2);
        const float4* x4 = reinterpret_cast<const float4*>(xr);
        for (int64_t c = lane; c < K / 8; c += kWarp) {
          const uint32_t q = p[c];
          const float4 x0 = x4[2 * c], x1 = x4[2 * c + 1];
          const float xs[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
          // sum over the 8 values of NF4[code] x, times the block's absmax once
          float part = 0;
#pragma unroll
          for (int b = 0; b < 4; b++) {
            part = fmaf(books.lut[(q >> (8 * b + 4)) & 0x0f], xs[2 * b], part);
            part = fmaf(books.lut[(q >> (8 * b)) & 0x0f], xs[2 * b + 1], part);
          }
          s = fmaf(block_absmax(w, books.map, (start + 8 * c) / w.blocksize), part, s);
        }
      } else {
        for (int64_t k = lane; k < K; k += kWarp) s = fmaf(value_at(w, books, start + k), xr[k], s);
      }
      for (int offset = kWarp / 2; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
      if (lane == 0) y[m * N + j] = s;
    }
  }
}

// y = x W^T with W's 64 x 16 slices dequantized straight into shared memory (cuda/tile_gemm.cuh)
__global__ void nf4_gemm_kernel(float* y, const float* x, int64_t M, NF4Weight w, int64_t N, int64_t K, const __grid_constant__ NF4Table table) {
  __shared__ Books books;
  load_books(books, table, w);
  tile::gemm_xwt(
      y, x, M, N, K, [&](int64_t n, int64_t k) { return value_at(w, books, n * K + k); }, [](int64_t, int64_t, float acc) { return acc; });
}

}  // namespace

void nf4_dequant_v1_naive(float* out, const NF4Weight& w, const NF4Table& table) { nf4_dequantize(out, w, table); }

// Needs out 16-byte aligned and packed 4-byte aligned; otherwise v1.
void nf4_dequant_v2_smem_vec(float* out, const NF4Weight& w, const NF4Table& table) {
  if (w.n == 0) return;
  if (!aligned16(out) || reinterpret_cast<uintptr_t>(w.packed) % 4 != 0) return nf4_dequant_v1_naive(out, w, table);
  nf4_dequant_v2_kernel<<<grid_for((w.n + 7) / 8), kThreads>>>(out, w, table);
  CUDA_CHECK_LAUNCH("nf4_dequant_v2_smem_vec", {"n", w.n}, {"blocksize", w.blocksize});
}

// Needs out and packed 16-byte aligned; otherwise v1.
void nf4_dequant_v3_reg_lut_vec16(float* out, const NF4Weight& w, const NF4Table& table) {
  if (w.n == 0) return;
  if (!aligned16(out) || !aligned16(w.packed)) return nf4_dequant_v1_naive(out, w, table);
  nf4_dequant_v3_kernel<<<grid_for((w.n + 31) / 32), kThreads>>>(out, w, table);
  CUDA_CHECK_LAUNCH("nf4_dequant_v3_reg_lut_vec16", {"n", w.n}, {"blocksize", w.blocksize});
}

const std::vector<Nf4DequantGpuVersion>& nf4_dequant_gpu_versions() {
  static const std::vector<Nf4DequantGpuVersion> versions = {
      {"v1_naive", "a thread a byte: 1-byte loads, 4-byte stores, table in shared memory", nf4_dequant_v1_naive},
      {"v2_smem_vec", "a thread 4 bytes: one 32-bit load, two float4 stores", nf4_dequant_v2_smem_vec},
      {"v3_reg_lut_vec16", "a warp 1024 values: 128-bit loads, 512-byte float4 stores, table in registers (__shfl_sync)",
       nf4_dequant_v3_reg_lut_vec16}};
  return versions;
}

void nf4_matmul_dequant_then_matmul(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, float* scratch,
                                    const NF4Table& table) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    CUDA_CHECK(cudaMemset(y, 0, size_t(M * N) * sizeof(float)));
    return;
  }
  nf4_linear_f32(y, x, M, w, N, K, scratch, table);
}

void nf4_gemv_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, const NF4Table& table) {
  if (M == 0 || N == 0) return;
  const bool vec = K % 8 == 0 && aligned16(x) && reinterpret_cast<uintptr_t>(w.packed) % 4 == 0;
  const int warps = kThreads / kWarp;
  const dim3 grid(unsigned(std::min<int64_t>((N + warps - 1) / warps, int64_t(1) << 20)), unsigned(std::min<int64_t>(M, 65535)));
  nf4_gemv_kernel<<<grid, kThreads>>>(y, x, M, w, N, K, vec, table);
  CUDA_CHECK_LAUNCH("nf4_gemv_f32", {"M", M}, {"N", N}, {"K", K});
}

void nf4_gemm_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, const NF4Table& table) {
  if (M == 0 || N == 0) return;
  nf4_gemm_kernel<<<tile::grid_of(M, N), dim3(16, 16)>>>(y, x, M, w, N, K, table);
  CUDA_CHECK_LAUNCH("nf4_gemm_f32", {"M", M}, {"N", N}, {"K", K});
}

namespace {
void gemv_version(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, float*, const NF4Table& table) {
  nf4_gemv_f32(y, x, M, w, N, K, table);
}
void gemm_version(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, float*, const NF4Table& table) {
  nf4_gemm_f32(y, x, M, w, N, K, table);
}
}  // namespace

const std::vector<Nf4MatmulGpuVersion>& nf4_matmul_gpu_versions() {
  static const std::vector<Nf4MatmulGpuVersion> versions = {
      {"dequant_then_matmul", "W^T dequantized to global memory (f32), then the tiled matmul", nf4_matmul_dequant_then_matmul},
      {"fused_gemv", "batch 1: a warp a row of W, codes decoded in registers and dotted with x", gemv_version},
      {"fused_gemm", "64 x 64 tiles, W's tile dequantized into shared memory, 4 x 4 outputs a thread", gemm_version}};
  return versions;
}

}  // namespace lab::cuda
