// GPU matmul, C[b] = A[b] B[b], row-major: the numbered versions of cuda/matmul.h, slowest first.
// Each version keeps its kernel, its launch and its napkin math; cuBLAS is the yardstick in
// bench/bench_cuda.cpp. Every version sums k = 0..K-1 in order, as the CPU reference does.
//
// Shapes: A [M, K], B [K, N], C [M, N]; batch b on gridDim.z, output rows on gridDim.y, columns
// on gridDim.x. y and z allow at most 65535 blocks, so launch_over_grid() launches chunks of them.
// Not here: shape checks and broadcasting (tensor/matmul.cpp), tensor cores and mixed precision.
#include "cuda/launch.cuh"
#include "cuda/matmul.h"

namespace lab::cuda {

namespace {

constexpr int64_t kMaxGridYZ = 65535;

// Launch kernel(c, a, b, s, batch0, row0) over every (batch, row tile, column tile), with blocks of
// `block` threads that cover block_rows rows and block_cols columns of C each.
template <typename T, typename Kernel>
void launch_over_grid(const char* name, Kernel kernel, dim3 block, int64_t block_rows, int64_t block_cols, T* c, const T* a, const T* b,
                      const MatmulShape& s) {
  if (s.batch == 0 || s.M == 0 || s.N == 0) return;
  const int64_t col_blocks = (s.N + block_cols - 1) / block_cols;  // < 2^31 for any N that fits in memory
  const int64_t row_blocks = (s.M + block_rows - 1) / block_rows;
  for (int64_t b0 = 0; b0 < s.batch; b0 += kMaxGridYZ)
    for (int64_t r0 = 0; r0 < row_blocks; r0 += kMaxGridYZ) {
      const dim3 grid(unsigned(col_blocks), unsigned(std::min(kMaxGridYZ, row_blocks - r0)), unsigned(std::min(kMaxGridYZ, s.batch - b0)));
      kernel<<<grid, block>>>(c, a, b, s, b0, r0 * block_rows);
      CUDA_CHECK_LAUNCH(name, {"batch", s.batch}, {"M", s.M}, {"N", s.N}, {"K", s.K});
    }
}

// --- v1: one thread per element of C, its dot product read straight from global memory.
//
// A block is 32 x 8 threads, so a warp is 32 neighbouring columns of one row: its reads of
// B[k, col..col+31] are one 128-byte line, its reads of A[row, k] one broadcast value.
// Napkin math: 2 loads (8 bytes) per FMA (2 FLOPs) = 0.25 FLOP/byte; even served from L1/L2 that
// caps v1 at a few TFLOP/s, a small fraction of H200's ~67 TFLOP/s FP32 peak.
constexpr int kV1Cols = 32, kV1Rows = 8;

template <typename T>
__global__ void matmul_v1_kernel(T* c, const T* a, const T* b, MatmulShape s, int64_t batch0, int64_t row0) {
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t row = row0 + int64_t(blockIdx.y) * kV1Rows + threadIdx.y;
  const int64_t col = int64_t(blockIdx.x) * kV1Cols + threadIdx.x;
  if (row >= s.M || col >= s.N) return;
  const T* a_row = a + batch * s.stride_a + row * s.K;
  const T* b_col = b + batch * s.stride_b + col;
  // C[row, col] = sum_k A[row, k] B[k, col]
  T acc = 0;
  for (int64_t k = 0; k < s.K; k++) acc += a_row[k] * b_col[k * s.N];
  c[batch * s.M * s.N + row * s.N + col] = acc;
}

// --- v2: 32 x 32 tiles of A and B staged in shared memory.
//
// A block of 32 x 32 threads computes a 32 x 32 tile of C. For each step of 32 along K, every
// thread loads one element of the A tile and one of the B tile (coalesced, zero past the edges),
// the block waits, then each thread does 32 FMAs from shared memory, and the block waits again
// before the tiles are overwritten.
// Napkin math: 2 global loads now serve 32 FMAs, so global traffic is 32x lower than v1; the limit
// becomes shared memory (two shared loads per FMA), about 1/8 of the FP32 peak at best. The next
// step is register tiling: each thread computes several outputs from each shared value it loads.
constexpr int kTile = 32;

template <typename T>
__global__ void __launch_bounds__(kTile * kTile)
    matmul_v2_kernel(T* c, const T* a, const T* b, MatmulShape s, int64_t batch0, int64_t row0) {
  __shared__ T a_tile[kTile][kTile];
  __shared__ T b_tile[kTile][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t row = row0 + int64_t(blockIdx.y) * kTile + ty;
  const int64_t col = int64_t(blockIdx.x) * kTile + tx;
  const T* a_mat = a + batch * s.stride_a;
  const T* b_mat = b + batch * s.stride_b;
  T acc = 0;
  // Every thread runs every step (no early return), so all of them reach each __syncthreads.
  for (int64_t k0 = 0; k0 < s.K; k0 += kTile) {
    a_tile[ty][tx] = (row < s.M && k0 + tx < s.K) ? a_mat[row * s.K + k0 + tx] : T(0);
    b_tile[ty][tx] = (k0 + ty < s.K && col < s.N) ? b_mat[(k0 + ty) * s.N + col] : T(0);
    __syncthreads();
    // C[row, col] += sum_{k < 32} A[row, k0 + k] B[k0 + k, col]  (the zero padding adds nothing)
#pragma unroll
    for (int k = 0; k < kTile; k++) acc += a_tile[ty][k] * b_tile[k][tx];
    __syncthreads();
  }
  if (row < s.M && col < s.N) c[batch * s.M * s.N + row * s.N + col] = acc;
}

}  // namespace

void matmul_v1_naive_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  launch_over_grid("matmul_v1_naive_f32", matmul_v1_kernel<float>, dim3(kV1Cols, kV1Rows), kV1Rows, kV1Cols, c, a, b, s);
}

void matmul_v2_smem_tiled_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  launch_over_grid("matmul_v2_smem_tiled_f32", matmul_v2_kernel<float>, dim3(kTile, kTile), kTile, kTile, c, a, b, s);
}

void matmul_v2_smem_tiled_f64(double* c, const double* a, const double* b, const MatmulShape& s) {
  launch_over_grid("matmul_v2_smem_tiled_f64", matmul_v2_kernel<double>, dim3(kTile, kTile), kTile, kTile, c, a, b, s);
}

}  // namespace lab::cuda
