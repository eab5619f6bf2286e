// y = x W^T by 64 x 64 tiles with W read through a loader: the body of the fused GPU kernels that
// build W's tile themselves (NF4 codes dequantized into shared memory: cuda/nf4_kernels.cu; an f32 or
// NF4 base with LoRA's rank-r update added before the store: cuda/lora_fused.cu).
//
//   each step: x[m0:m0+64, k0:k0+16] and W[n0:n0+64, k0:k0+16] (via load_w(n, k)) into shared memory,
//   k-major; then each of the 16 x 16 threads adds 16 outer products into its 4 x 4 outputs in registers;
//   at the end, epilogue(m, n, acc) gives the value stored at y[m, n].
// 2-D block tiling as in Simon Boehm's "How to Optimize a CUDA Matmul Kernel" (kernel 5). Launch with
// dim3(16, 16) threads and a grid of up to 65535 x 65535 blocks (the kernel loops over further tiles).
// Included by .cu files only.
#pragma once

#include <cstdint>

namespace lab::cuda::tile {

constexpr int kTile = 64, kTileK = 16;

// LoadW: __device__ float (int64_t n, int64_t k), called only inside W; Epilogue: __device__ float (int64_t m, int64_t n, float acc).
template <typename LoadW, typename Epilogue>
__device__ void gemm_xwt(float* y, const float* x, int64_t M, int64_t N, int64_t K, const LoadW& load_w, const Epilogue& epilogue) {
  __shared__ float xs[kTileK][kTile + 4], ws[kTileK][kTile + 4];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
  for (int64_t m0 = int64_t(blockIdx.y) * kTile; m0 < M; m0 += int64_t(gridDim.y) * kTile) {
    for (int64_t n0 = int64_t(blockIdx.x) * kTile; n0 < N; n0 += int64_t(gridDim.x) * kTile) {
      float acc[4][4] = {};
      for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
        for (int e = tid; e < kTile * kTileK; e += 256) {
          const int r = e / kTileK, kk = e % kTileK;  // consecutive threads: consecutive k of one row
          const int64_t gk = k0 + kk, gm = m0 + r, gn = n0 + r;
          xs[kk][r] = gm < M && gk < K ? x[gm * K + gk] : 0.0f;
          ws[kk][r] = gn < N && gk < K ? load_w(gn, gk) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileK; kk++) {
          float a[4], b[4];
#pragma unroll
          for (int i = 0; i < 4; i++) a[i] = xs[kk][ty * 4 + i], b[i] = ws[kk][tx * 4 + i];
          // acc[i][j] += x[m_i, k] W[n_j, k]
#pragma unroll
          for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
      }
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          const int64_t m = m0 + ty * 4 + i, n = n0 + tx * 4 + j;
          if (m < M && n < N) y[m * N + n] = epilogue(m, n, acc[i][j]);
        }
    }
  }
}

// Blocks to launch: one a tile, at most 65535 along each side (the kernel loops over the rest).
inline unsigned tiles_capped(int64_t n) {
  const int64_t t = (n + kTile - 1) / kTile;
  return unsigned(t < 65535 ? t : 65535);
}
inline dim3 grid_of(int64_t M, int64_t N) { return dim3(tiles_capped(N), tiles_capped(M)); }

}  // namespace lab::cuda::tile
