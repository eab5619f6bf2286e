// GPU matmul v4 and v5 (cuda/matmul.h): block tiling in registers. Each thread computes several
// outputs, so each value it reads from shared memory feeds several FMAs. v1-v3: matmul.cu; v6,
// the same tiling with 16-byte loads: matmul_vectorized.cu.
//
// Both load their tiles one float at a time with a bounds check each (zero past the edges), so any
// M, N, K works; both sum k = 0..K-1 in order, as the CPU reference does.
// Reference: Simon Boehm, "How to Optimize a CUDA Matmul Kernel for cuBLAS-like Performance"
// (2022), kernels 4 and 5.
#include "cuda/matmul_grid.cuh"

namespace lab::cuda {

using matmul_detail::launch_over_grid;

namespace {

// --- v4: 1-D block tiling. A block computes a 64 x 64 tile of C with 512 threads; each thread
// computes kV4TM = 8 consecutive rows of one column.
//
// Per step of kV4BK = 8 along K, each thread loads one element of the 64 x 8 tile of A and one of
// the 8 x 64 tile of B, then for each k reads B's value once into a register and uses it for 8 FMAs.
// Napkin math: shared loads per FMA fall from 2 (v3) to (1 + 8) / 8 = 1.125; the next limit is
// the A reads, one per FMA.
constexpr int kV4BM = 64, kV4BN = 64, kV4BK = 8, kV4TM = 8;
constexpr int kV4Threads = kV4BM * kV4BN / kV4TM;  // 512
static_assert(kV4BM * kV4BK == kV4Threads && kV4BK * kV4BN == kV4Threads, "v4: each thread loads one element of each tile");

__global__ void __launch_bounds__(kV4Threads)
    matmul_v4_kernel(float* c, const float* a, const float* b, MatmulShape s, int64_t batch0, int64_t row0) {
  __shared__ float a_tile[kV4BM][kV4BK];
  __shared__ float b_tile[kV4BK][kV4BN];
  const int tid = threadIdx.x;
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t block_row = row0 + int64_t(blockIdx.y) * kV4BM, block_col = int64_t(blockIdx.x) * kV4BN;
  const float* a_mat = a + batch * s.stride_a;
  const float* b_mat = b + batch * s.stride_b;
  // The element of each tile this thread loads (consecutive threads: consecutive addresses).
  const int a_r = tid / kV4BK, a_k = tid % kV4BK;
  const int b_k = tid / kV4BN, b_c = tid % kV4BN;
  // The outputs it computes: rows thread_row * 8 .. + 7 of column thread_col of the block's tile.
  const int thread_col = tid % kV4BN, thread_row = tid / kV4BN;
  float acc[kV4TM] = {};
  for (int64_t k0 = 0; k0 < s.K; k0 += kV4BK) {
    const int64_t ar = block_row + a_r, ak = k0 + a_k, bk = k0 + b_k, bc = block_col + b_c;
    a_tile[a_r][a_k] = (ar < s.M && ak < s.K) ? a_mat[ar * s.K + ak] : 0.f;
    b_tile[b_k][b_c] = (bk < s.K && bc < s.N) ? b_mat[bk * s.N + bc] : 0.f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kV4BK; k++) {
      const float b_val = b_tile[k][thread_col];
      // C[r, col] += A[r, k0 + k] B[k0 + k, col] for the thread's 8 rows r
#pragma unroll
      for (int i = 0; i < kV4TM; i++) acc[i] += a_tile[thread_row * kV4TM + i][k] * b_val;
    }
    __syncthreads();
  }
  float* c_mat = c + batch * s.M * s.N;
  const int64_t col = block_col + thread_col;
#pragma unroll
  for (int i = 0; i < kV4TM; i++) {
    const int64_t row = block_row + thread_row * kV4TM + i;
    if (row < s.M && col < s.N) c_mat[row * s.N + col] = acc[i];
  }
}

// --- v5: 2-D block tiling. A block computes a 128 x 128 tile of C with 256 threads; each thread an
// 8 x 8 sub-tile, as outer products: for each k it reads 8 values of A's column and 8 of B's row
// into registers, then does 8 x 8 = 64 FMAs from them.
//
// Napkin math: shared loads per FMA fall to 16 / 64 = 0.25; global loads per FMA to 1/128 + 1/128.
// What remains: the 64 accumulators live in registers, and B's row is read with an 8-float stride
// across threads (shared-memory bank conflicts), which v6 removes with float4 reads.
constexpr int kV5BM = 128, kV5BN = 128, kV5BK = 8, kV5TM = 8, kV5TN = 8;
constexpr int kV5Threads = (kV5BM / kV5TM) * (kV5BN / kV5TN);  // 256
static_assert(kV5BM * kV5BK % kV5Threads == 0 && kV5BK * kV5BN % kV5Threads == 0, "v5: tiles split evenly over the threads");

__global__ void __launch_bounds__(kV5Threads)
    matmul_v5_kernel(float* c, const float* a, const float* b, MatmulShape s, int64_t batch0, int64_t row0) {
  __shared__ float a_tile[kV5BM][kV5BK];
  __shared__ float b_tile[kV5BK][kV5BN];
  const int tid = threadIdx.x;
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t block_row = row0 + int64_t(blockIdx.y) * kV5BM, block_col = int64_t(blockIdx.x) * kV5BN;
  const float* a_mat = a + batch * s.stride_a;
  const float* b_mat = b + batch * s.stride_b;
  // This thread's 8 x 8 sub-tile: rows thread_row * 8 .., columns thread_col * 8 .. of the block's tile.
  const int thread_row = tid / (kV5BN / kV5TN), thread_col = tid % (kV5BN / kV5TN);
  float acc[kV5TM][kV5TN] = {};
  float reg_m[kV5TM], reg_n[kV5TN];
  for (int64_t k0 = 0; k0 < s.K; k0 += kV5BK) {
    // Each thread loads 4 elements of each tile, kV5Threads apart.
    for (int i = tid; i < kV5BM * kV5BK; i += kV5Threads) {
      const int r = i / kV5BK, k = i % kV5BK;
      const int64_t ar = block_row + r, ak = k0 + k;
      a_tile[r][k] = (ar < s.M && ak < s.K) ? a_mat[ar * s.K + ak] : 0.f;
    }
    for (int i = tid; i < kV5BK * kV5BN; i += kV5Threads) {
      const int k = i / kV5BN, n = i % kV5BN;
      const int64_t bk = k0 + k, bc = block_col + n;
      b_tile[k][n] = (bk < s.K && bc < s.N) ? b_mat[bk * s.N + bc] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kV5BK; k++) {
#pragma unroll
      for (int i = 0; i < kV5TM; i++) reg_m[i] = a_tile[thread_row * kV5TM + i][k];
#pragma unroll
      for (int j = 0; j < kV5TN; j++) reg_n[j] = b_tile[k][thread_col * kV5TN + j];
      // acc[i][j] += A[r_i, k0 + k] B[k0 + k, c_j]: the outer product of reg_m and reg_n
#pragma unroll
      for (int i = 0; i < kV5TM; i++)
#pragma unroll
        for (int j = 0; j < kV5TN; j++) acc[i][j] += reg_m[i] * reg_n[j];
    }
    __syncthreads();
  }
  float* c_mat = c + batch * s.M * s.N;
#pragma unroll
  for (int i = 0; i < kV5TM; i++) {
    const int64_t row = block_row + thread_row * kV5TM + i;
#pragma unroll
    for (int j = 0; j < kV5TN; j++) {
      const int64_t col = block_col + thread_col * kV5TN + j;
      if (row < s.M && col < s.N) c_mat[row * s.N + col] = acc[i][j];
    }
  }
}

}  // namespace

void matmul_v4_blocktiling_1d_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  launch_over_grid("matmul_v4_blocktiling_1d_f32", matmul_v4_kernel, dim3(kV4Threads), kV4BM, kV4BN, c, a, b, s);
}

void matmul_v5_blocktiling_2d_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  launch_over_grid("matmul_v5_blocktiling_2d_f32", matmul_v5_kernel, dim3(kV5Threads), kV5BM, kV5BN, c, a, b, s);
}

}  // namespace lab::cuda
