// GPU matmul v7 (cuda/matmul.h): warp tiling, the fastest f32 version (matmul_f32 calls it). The
// block's 128 x 128 tile of C is split among 4 warps, 64 x 64 each; inside a warp, the 32 lanes
// form an 8 x 4 grid that sweeps the warp's tile in 4 sub-tiles of 64 x 16, each lane computing
// 8 x 4 of every sub-tile (8 x 16 outputs in all). v6: matmul_vectorized.cu; tensor cores:
// matmul_bf16_wmma.cu.
//
// Why: a warp's shared-memory reads now cover one compact region (8 lanes x 8 rows of A, 4 lanes x
// 4 columns of B per sub-tile: contiguous, conflict-free float4 reads), each thread keeps 128
// accumulators (more independent FMAs in flight), and kBK = 16 halves the __syncthreads per FLOP.
// Alignment as v6: float4 global loads and stores when matmul_float4_aligned, else the same kernel
// with bounds-checked scalar loads. Sums k = 0..K-1 in order, as the CPU reference does.
// Reference: Simon Boehm, "How to Optimize a CUDA Matmul Kernel for cuBLAS-like Performance", kernel 10.
#include "cuda/matmul_grid.cuh"

namespace lab::cuda {

using matmul_detail::launch_over_grid;
using matmul_detail::load4;
using matmul_detail::store4;

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 16;                 // the block's tile of C, and its step along K
constexpr int kWM = 64, kWN = 64;                             // a warp's tile of C
constexpr int kWarps = (kBM / kWM) * (kBN / kWN);             // 4
constexpr int kBlockThreads = 32 * kWarps;                         // 128
constexpr int kLaneRows = 8, kLaneCols = 4;                   // the 32 lanes of a warp as an 8 x 4 grid
constexpr int kTM = 8, kTN = 4;                               // a lane's piece of one sub-tile
constexpr int kSubN = kLaneCols * kTN;                        // 16: width of a warp sub-tile
constexpr int kNIter = kWN / kSubN;                           // 4 sub-tiles side by side
static_assert(kLaneRows * kLaneCols == 32 && kLaneRows * kTM == kWM, "v7: the lanes cover the warp tile's rows");
static_assert(kTM == 8 && kTN == 4, "v7: a lane reads its rows as two float4 and each sub-tile's columns as one");
static_assert((kBM * kBK / 4) % kBlockThreads == 0 && (kBK * kBN / 4) % kBlockThreads == 0, "v7: tiles split evenly into float4s over the threads");

template <bool kVec4>
__global__ void __launch_bounds__(kBlockThreads)
    matmul_v7_kernel(float* c, const float* a, const float* b, MatmulShape s, int64_t batch0, int64_t row0) {
  __shared__ __align__(16) float a_tile_t[kBK][kBM];  // a_tile_t[k][r] = A[block_row + r, k0 + k]
  __shared__ __align__(16) float b_tile[kBK][kBN];    // b_tile[k][n]   = B[k0 + k, block_col + n]
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t block_row = row0 + int64_t(blockIdx.y) * kBM, block_col = int64_t(blockIdx.x) * kBN;
  const float* a_mat = a + batch * s.stride_a;
  const float* b_mat = b + batch * s.stride_b;
  // Where this lane's outputs sit in the block's tile: rows warp_r + 0..7, and in sub-tile w the
  // columns warp_c + w * 16 + 0..3.
  const int warp_r = (warp / (kBN / kWN)) * kWM + (lane / kLaneCols) * kTM;
  const int warp_c = (warp % (kBN / kWN)) * kWN + (lane % kLaneCols) * kTN;
  float acc[kTM][kNIter * kTN] = {};
  float reg_m[kTM], reg_n[kNIter * kTN];
  for (int64_t k0 = 0; k0 < s.K; k0 += kBK) {
    // 512 float4 of A's 128 x 16 tile and 512 of B's 16 x 128 tile: 4 of each per thread.
#pragma unroll
    for (int i = tid; i < kBM * kBK / 4; i += kBlockThreads) {
      const int r = i / (kBK / 4), k = (i % (kBK / 4)) * 4;
      const float4 v = load4<kVec4>(a_mat, s.M, s.K, block_row + r, k0 + k);
      a_tile_t[k + 0][r] = v.x;
      a_tile_t[k + 1][r] = v.y;
      a_tile_t[k + 2][r] = v.z;
      a_tile_t[k + 3][r] = v.w;
    }
#pragma unroll
    for (int i = tid; i < kBK * kBN / 4; i += kBlockThreads) {
      const int k = i / (kBN / 4), n = (i % (kBN / 4)) * 4;
      *reinterpret_cast<float4*>(&b_tile[k][n]) = load4<kVec4>(b_mat, s.K, s.N, k0 + k, block_col + n);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kBK; k++) {
      const float4 m0 = *reinterpret_cast<const float4*>(&a_tile_t[k][warp_r]);
      const float4 m1 = *reinterpret_cast<const float4*>(&a_tile_t[k][warp_r + 4]);
      reg_m[0] = m0.x, reg_m[1] = m0.y, reg_m[2] = m0.z, reg_m[3] = m0.w;
      reg_m[4] = m1.x, reg_m[5] = m1.y, reg_m[6] = m1.z, reg_m[7] = m1.w;
#pragma unroll
      for (int w = 0; w < kNIter; w++) {
        const float4 n4 = *reinterpret_cast<const float4*>(&b_tile[k][warp_c + w * kSubN]);
        reg_n[w * kTN + 0] = n4.x, reg_n[w * kTN + 1] = n4.y, reg_n[w * kTN + 2] = n4.z, reg_n[w * kTN + 3] = n4.w;
      }
      // acc[i][j] += A[r_i, k0 + k] B[k0 + k, c_j]: the outer product of reg_m and reg_n
#pragma unroll
      for (int i = 0; i < kTM; i++)
#pragma unroll
        for (int j = 0; j < kNIter * kTN; j++) acc[i][j] += reg_m[i] * reg_n[j];
    }
    __syncthreads();
  }
  float* c_mat = c + batch * s.M * s.N;
#pragma unroll
  for (int i = 0; i < kTM; i++) {
    const int64_t row = block_row + warp_r + i;
#pragma unroll
    for (int w = 0; w < kNIter; w++) {
      const float* v = &acc[i][w * kTN];
      store4<kVec4>(c_mat, s.M, s.N, row, block_col + warp_c + w * kSubN, make_float4(v[0], v[1], v[2], v[3]));
    }
  }
}

}  // namespace

void matmul_v7_warptiling_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  if (matmul_float4_aligned(c, a, b, s))
    launch_over_grid("matmul_v7_warptiling_f32 (float4 loads)", matmul_v7_kernel<true>, dim3(kBlockThreads), kBM, kBN, c, a, b, s);
  else
    launch_over_grid("matmul_v7_warptiling_f32 (scalar loads: unaligned)", matmul_v7_kernel<false>, dim3(kBlockThreads), kBM, kBN, c, a, b, s);
}

}  // namespace lab::cuda
