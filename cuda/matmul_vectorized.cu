// GPU matmul v6 (cuda/matmul.h): v5's 128 x 128 block tile and 8 x 8 thread tile, with every
// global and shared-memory access 16 bytes (float4) wide, and A's tile stored transposed in shared
// memory so that a thread's 8 values of A's column are contiguous too. v5: matmul_blocktiling.cu;
// v7 (warp tiling): matmul_warptiling.cu.
//
// Alignment: a float4 load needs a 16-byte aligned address. When K, N and the batch strides are
// multiples of 4 and the pointers 16-byte aligned (matmul_float4_aligned), kVec4 = true; otherwise
// the same kernel runs with kVec4 = false and loads the 4 floats one by one, each bounds-checked, so
// any shape stays correct. Sums k = 0..K-1 in order, as the CPU reference does.
// Reference: Simon Boehm, "How to Optimize a CUDA Matmul Kernel for cuBLAS-like Performance", kernel 6.
#include "cuda/matmul_grid.cuh"

namespace lab::cuda {

using matmul_detail::launch_over_grid;
using matmul_detail::load4;
using matmul_detail::store4;

namespace {

// Per step of kBK = 8 along K, each of the 256 threads loads one float4 of the 128 x 8 tile of A
// (storing its 4 values down a column of a_tile_t) and one float4 of the 8 x 128 tile of B.
// Napkin math: the same FMAs per shared load as v5 (64 per 16 floats), but 4 loads where v5 issued
// 16, and no bank conflicts on B's row; global loads are one 16-byte instruction each.
constexpr int kBM = 128, kBN = 128, kBK = 8, kTM = 8, kTN = 8;
constexpr int kBlockThreads = (kBM / kTM) * (kBN / kTN);  // 256
static_assert(kBM * kBK / 4 == kBlockThreads && kBK * kBN / 4 == kBlockThreads, "v6: each thread loads one float4 of each tile");
static_assert(kTM == 8 && kTN == 8, "v6: a thread reads its 8 rows and 8 columns as two float4 each");

template <bool kVec4>
__global__ void __launch_bounds__(kBlockThreads)
    matmul_v6_kernel(float* c, const float* a, const float* b, MatmulShape s, int64_t batch0, int64_t row0) {
  __shared__ __align__(16) float a_tile_t[kBK][kBM];  // a_tile_t[k][r] = A[block_row + r, k0 + k]
  __shared__ __align__(16) float b_tile[kBK][kBN];    // b_tile[k][n]   = B[k0 + k, block_col + n]
  const int tid = threadIdx.x;
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t block_row = row0 + int64_t(blockIdx.y) * kBM, block_col = int64_t(blockIdx.x) * kBN;
  const float* a_mat = a + batch * s.stride_a;
  const float* b_mat = b + batch * s.stride_b;
  // The float4 of each tile this thread loads.
  const int a_r = tid / (kBK / 4), a_k = (tid % (kBK / 4)) * 4;
  const int b_k = tid / (kBN / 4), b_n = (tid % (kBN / 4)) * 4;
  // This thread's 8 x 8 sub-tile of the block's tile of C.
  const int thread_row = tid / (kBN / kTN), thread_col = tid % (kBN / kTN);
  float acc[kTM][kTN] = {};
  float reg_m[kTM], reg_n[kTN];
  for (int64_t k0 = 0; k0 < s.K; k0 += kBK) {
    const float4 av = load4<kVec4>(a_mat, s.M, s.K, block_row + a_r, k0 + a_k);
    a_tile_t[a_k + 0][a_r] = av.x;
    a_tile_t[a_k + 1][a_r] = av.y;
    a_tile_t[a_k + 2][a_r] = av.z;
    a_tile_t[a_k + 3][a_r] = av.w;
    *reinterpret_cast<float4*>(&b_tile[b_k][b_n]) = load4<kVec4>(b_mat, s.K, s.N, k0 + b_k, block_col + b_n);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kBK; k++) {
      const float4 m0 = *reinterpret_cast<const float4*>(&a_tile_t[k][thread_row * kTM]);
      const float4 m1 = *reinterpret_cast<const float4*>(&a_tile_t[k][thread_row * kTM + 4]);
      const float4 n0 = *reinterpret_cast<const float4*>(&b_tile[k][thread_col * kTN]);
      const float4 n1 = *reinterpret_cast<const float4*>(&b_tile[k][thread_col * kTN + 4]);
      reg_m[0] = m0.x, reg_m[1] = m0.y, reg_m[2] = m0.z, reg_m[3] = m0.w;
      reg_m[4] = m1.x, reg_m[5] = m1.y, reg_m[6] = m1.z, reg_m[7] = m1.w;
      reg_n[0] = n0.x, reg_n[1] = n0.y, reg_n[2] = n0.z, reg_n[3] = n0.w;
      reg_n[4] = n1.x, reg_n[5] = n1.y, reg_n[6] = n1.z, reg_n[7] = n1.w;
      // acc[i][j] += A[r_i, k0 + k] B[k0 + k, c_j]: the outer product of reg_m and reg_n
#pragma unroll
      for (int i = 0; i < kTM; i++)
#pragma unroll
        for (int j = 0; j < kTN; j++) acc[i][j] += reg_m[i] * reg_n[j];
    }
    __syncthreads();
  }
  float* c_mat = c + batch * s.M * s.N;
  const int64_t col = block_col + thread_col * kTN;
#pragma unroll
  for (int i = 0; i < kTM; i++) {
    const int64_t row = block_row + thread_row * kTM + i;
    store4<kVec4>(c_mat, s.M, s.N, row, col, make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    store4<kVec4>(c_mat, s.M, s.N, row, col + 4, make_float4(acc[i][4], acc[i][5], acc[i][6], acc[i][7]));
  }
}

}  // namespace

void matmul_v6_vectorized_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  if (matmul_float4_aligned(c, a, b, s))
    launch_over_grid("matmul_v6_vectorized_f32 (float4 loads)", matmul_v6_kernel<true>, dim3(kBlockThreads), kBM, kBN, c, a, b, s);
  else
    launch_over_grid("matmul_v6_vectorized_f32 (scalar loads: unaligned)", matmul_v6_kernel<false>, dim3(kBlockThreads), kBM, kBN, c, a, b, s);
}

}  // namespace lab::cuda
