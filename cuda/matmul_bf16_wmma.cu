// GPU matmul v8 (cuda/matmul.h): bf16 tensor cores through WMMA (16 x 16 x 16 fragments, f32
// accumulation). f32 A and B are rounded to bf16 (round to nearest even) as they are staged in
// shared memory, so the interface stays v1-v7's; C is f32. v7, the f32 path: matmul_warptiling.cu.
//
// Accuracy: bf16 keeps 8 significant bits, so each rounded factor is within a relative 2^-8 of its
// f32 value and each product within (2 * 2^-8 + 2^-16) |a| |b|: |C - C_ref| <= ~2^-7 sum_k |A||B|
// (tests/cuda/test_cuda_matmul.cpp checks exactly that bound). Tensor cores add in their own order,
// so unlike v1-v7 the sum over k is not the CPU's order either. Hence not used by matmul_f32.
// Needs compute capability >= 8.0 (bf16 WMMA); the launch throws CudaError on an older GPU.
// Not here: ldmatrix/mma.sync by hand, cp.async double buffering (the next steps toward cuBLAS).
#include "cuda/matmul_grid.cuh"

#include <cuda_bf16.h>
#include <mma.h>

namespace lab::cuda {

using matmul_detail::launch_over_grid;
using matmul_detail::load4;
using matmul_detail::store4;

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 32;      // the block's tile of C, and its step along K
constexpr int kWM = 64, kWN = 32;                  // a warp's tile of C: 4 x 2 fragments of 16 x 16
constexpr int kFrag = 16;                          // WMMA's m = n = k
constexpr int kWarps = (kBM / kWM) * (kBN / kWN);  // 8
constexpr int kBlockThreads = 32 * kWarps;              // 256
// 8 bf16 (16 bytes) of padding per shared row: rows stay multiples of 16 bytes (WMMA's ldm must be a
// multiple of 8 elements) and successive rows start on different banks.
constexpr int kPad = 8;
constexpr int kLdA = kBK + kPad, kLdB = kBN + kPad;
static_assert((kBM * kBK / 4) % kBlockThreads == 0 && (kBK * kBN / 4) % kBlockThreads == 0, "v8: tiles split evenly into float4s over the threads");
static_assert(kLdA % 8 == 0 && kLdB % 8 == 0, "v8: WMMA wants ldm a multiple of 8 bf16");

// Stores the 4 floats of v, rounded to bf16, at p[0..3] (p 8-byte aligned).
__device__ inline void store_bf16x4(__nv_bfloat16* p, float4 v) {
  reinterpret_cast<__nv_bfloat162*>(p)[0] = __floats2bfloat162_rn(v.x, v.y);
  reinterpret_cast<__nv_bfloat162*>(p)[1] = __floats2bfloat162_rn(v.z, v.w);
}

template <bool kVec4>
__global__ void __launch_bounds__(kBlockThreads)
    matmul_v8_kernel(float* c, const float* a, const float* b, MatmulShape s, int64_t batch0, int64_t row0) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  namespace wmma = nvcuda::wmma;
  // WMMA loads and stores want 32-byte aligned addresses: every fragment's corner below is one.
  __shared__ __align__(32) __nv_bfloat16 a_tile[kBM][kLdA];  // a_tile[r][k] = bf16(A[block_row + r, k0 + k])
  __shared__ __align__(32) __nv_bfloat16 b_tile[kBK][kLdB];  // b_tile[k][n] = bf16(B[k0 + k, block_col + n])
  __shared__ __align__(32) float c_stage[kWarps][kFrag][kFrag];  // one fragment of C, on its way to global memory
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t block_row = row0 + int64_t(blockIdx.y) * kBM, block_col = int64_t(blockIdx.x) * kBN;
  const float* a_mat = a + batch * s.stride_a;
  const float* b_mat = b + batch * s.stride_b;
  // This warp's tile of C: rows warp_r .. + 63, columns warp_c .. + 31 of the block's tile.
  const int warp_r = (warp / (kBN / kWN)) * kWM, warp_c = (warp % (kBN / kWN)) * kWN;

  wmma::fragment<wmma::accumulator, kFrag, kFrag, kFrag, float> acc[kWM / kFrag][kWN / kFrag];
#pragma unroll
  for (int i = 0; i < kWM / kFrag; i++)
#pragma unroll
    for (int j = 0; j < kWN / kFrag; j++) wmma::fill_fragment(acc[i][j], 0.f);
  wmma::fragment<wmma::matrix_a, kFrag, kFrag, kFrag, __nv_bfloat16, wmma::row_major> a_frag[kWM / kFrag];
  wmma::fragment<wmma::matrix_b, kFrag, kFrag, kFrag, __nv_bfloat16, wmma::row_major> b_frag[kWN / kFrag];

  for (int64_t k0 = 0; k0 < s.K; k0 += kBK) {
    // 1024 float4 of A's 128 x 32 tile and 1024 of B's 32 x 128 tile, 4 of each per thread, rounded to bf16.
#pragma unroll
    for (int i = tid; i < kBM * kBK / 4; i += kBlockThreads) {
      const int r = i / (kBK / 4), k = (i % (kBK / 4)) * 4;
      store_bf16x4(&a_tile[r][k], load4<kVec4>(a_mat, s.M, s.K, block_row + r, k0 + k));
    }
#pragma unroll
    for (int i = tid; i < kBK * kBN / 4; i += kBlockThreads) {
      const int k = i / (kBN / 4), n = (i % (kBN / 4)) * 4;
      store_bf16x4(&b_tile[k][n], load4<kVec4>(b_mat, s.K, s.N, k0 + k, block_col + n));
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; kk += kFrag) {
#pragma unroll
      for (int i = 0; i < kWM / kFrag; i++) wmma::load_matrix_sync(a_frag[i], &a_tile[warp_r + i * kFrag][kk], kLdA);
#pragma unroll
      for (int j = 0; j < kWN / kFrag; j++) wmma::load_matrix_sync(b_frag[j], &b_tile[kk][warp_c + j * kFrag], kLdB);
      // C_ij += A_i B_j, one 16 x 16 x 16 tensor-core product per fragment pair
#pragma unroll
      for (int i = 0; i < kWM / kFrag; i++)
#pragma unroll
        for (int j = 0; j < kWN / kFrag; j++) wmma::mma_sync(acc[i][j], a_frag[i], b_frag[j], acc[i][j]);
    }
    __syncthreads();
  }

  // A fragment's layout across the lanes is opaque: store it to shared memory, then copy the
  // 16 x 16 floats out with the bounds checks of the edges (4 floats a lane, twice).
  float* c_mat = c + batch * s.M * s.N;
#pragma unroll
  for (int i = 0; i < kWM / kFrag; i++)
#pragma unroll
    for (int j = 0; j < kWN / kFrag; j++) {
      wmma::store_matrix_sync(&c_stage[warp][0][0], acc[i][j], kFrag, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < kFrag * kFrag / 4; e += 32) {
        const int r = e / (kFrag / 4), col = (e % (kFrag / 4)) * 4;
        store4<kVec4>(c_mat, s.M, s.N, block_row + warp_r + i * kFrag + r, block_col + warp_c + j * kFrag + col,
                      *reinterpret_cast<const float4*>(&c_stage[warp][r][col]));
      }
      __syncwarp();
    }
#elif defined(__CUDA_ARCH__)
  __trap();  // compiled for a GPU without bf16 tensor cores; matmul_v8_bf16_wmma refuses to launch there
#endif
}

}  // namespace

void matmul_v8_bf16_wmma(float* c, const float* a, const float* b, const MatmulShape& s) {
  int device = 0, major = 0, minor = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  if (major < 8)
    throw CudaError("CUDA error in matmul_v8_bf16_wmma: bf16 tensor cores need compute capability 8.0 or newer, this GPU has " +
                        std::to_string(major) + "." + std::to_string(minor) + " (HINT: use matmul_f32, which runs on any GPU)",
                    int(cudaErrorNotSupported), false);
  if (matmul_float4_aligned(c, a, b, s))
    launch_over_grid("matmul_v8_bf16_wmma (float4 loads)", matmul_v8_kernel<true>, dim3(kBlockThreads), kBM, kBN, c, a, b, s);
  else
    launch_over_grid("matmul_v8_bf16_wmma (scalar loads: unaligned)", matmul_v8_kernel<false>, dim3(kBlockThreads), kBM, kBN, c, a, b, s);
}

}  // namespace lab::cuda
