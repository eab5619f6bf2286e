// GPU matmul, C[b] = A[b] B[b], row-major: the first three numbered versions of cuda/matmul.h,
// each with its kernel, its launch and its napkin math. v4 onwards: matmul_blocktiling.cu.
// cuBLAS is the yardstick in bench/bench_cuda_sgemm.cpp. Every version sums k = 0..K-1 in order,
// as the CPU reference does.
//
// Shapes: A [M, K], B [K, N], C [M, N]; the grid is matmul_grid.cuh's launch_over_grid.
// Not here: shape checks and broadcasting (tensor/matmul.cpp), tensor cores (matmul_bf16_wmma.cu).
#include "cuda/matmul_grid.cuh"

#include <cstdio>

namespace lab::cuda {

using matmul_detail::launch_over_grid;

namespace {

// --- v1: one thread per element of C, the dot product straight from global memory.
//
// A block is 32 x 8 threads; threadIdx.x runs down 32 ROWS of C. A warp (32 consecutive x) then
// reads A[row..row+31, k]: 32 addresses K floats apart, 32 separate memory transactions for one
// useful float each, and writes C down a column the same way.
// Napkin math: 2 loads (8 bytes) per FMA (2 FLOPs) and most of each fetched 32-byte sector wasted:
// well under 1% of an H200's ~67 TFLOP/s FP32 peak.
constexpr int kV1Rows = 32, kV1Cols = 8;

__global__ void matmul_v1_kernel(float* c, const float* a, const float* b, MatmulShape s, int64_t batch0, int64_t row0) {
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t row = row0 + int64_t(blockIdx.y) * kV1Rows + threadIdx.x;
  const int64_t col = int64_t(blockIdx.x) * kV1Cols + threadIdx.y;
  if (row >= s.M || col >= s.N) return;
  const float* a_row = a + batch * s.stride_a + row * s.K;
  const float* b_col = b + batch * s.stride_b + col;
  // C[row, col] = sum_k A[row, k] B[k, col]
  float acc = 0;
  for (int64_t k = 0; k < s.K; k++) acc += a_row[k] * b_col[k * s.N];
  c[batch * s.M * s.N + row * s.N + col] = acc;
}

// --- v2: the same kernel with threadIdx.x along COLUMNS: global-memory coalescing.
//
// A warp is now 32 neighbouring columns of one row: its reads of B[k, col..col+31] are one 128-byte
// line, its read of A[row, k] one broadcast value, its write of C one line.
// Napkin math: still 2 loads per FMA (0.25 FLOP/byte), now served whole from L1/L2: a few TFLOP/s.
constexpr int kV2Cols = 32, kV2Rows = 8;

__global__ void matmul_v2_kernel(float* c, const float* a, const float* b, MatmulShape s, int64_t batch0, int64_t row0) {
  const int64_t batch = batch0 + blockIdx.z;
  const int64_t row = row0 + int64_t(blockIdx.y) * kV2Rows + threadIdx.y;
  const int64_t col = int64_t(blockIdx.x) * kV2Cols + threadIdx.x;
  if (row >= s.M || col >= s.N) return;
  const float* a_row = a + batch * s.stride_a + row * s.K;
  const float* b_col = b + batch * s.stride_b + col;
  // C[row, col] = sum_k A[row, k] B[k, col]
  float acc = 0;
  for (int64_t k = 0; k < s.K; k++) acc += a_row[k] * b_col[k * s.N];
  c[batch * s.M * s.N + row * s.N + col] = acc;
}

// --- v3: 32 x 32 tiles of A and B staged in shared memory.
//
// A block of 32 x 32 threads computes a 32 x 32 tile of C. For each step of 32 along K, every
// thread loads one element of the A tile and one of the B tile (coalesced, zero past the edges),
// the block waits, then each thread does 32 FMAs from shared memory, and the block waits again
// before the tiles are overwritten.
// Napkin math: 2 global loads now serve 32 FMAs, so global traffic is 32x lower than v2; the limit
// becomes shared memory (two shared loads per FMA), about 1/8 of the FP32 peak at best. The next
// step (v4) is register tiling: each thread computes several outputs from each shared value it loads.
constexpr int kTile = 32;

template <typename T>
__global__ void __launch_bounds__(kTile * kTile)
    matmul_v3_kernel(T* c, const T* a, const T* b, MatmulShape s, int64_t batch0, int64_t row0) {
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

Fp32Peak fp32_peak(int device) {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  int clock_khz = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
  const int lanes = (prop.major < 8 || (prop.major == 8 && prop.minor == 0)) ? 64 : 128;
  // peak = SMs x lanes x 2 FLOPs per FMA x clock
  const double gflops = double(prop.multiProcessorCount) * lanes * 2.0 * clock_khz / 1e6;
  char text[256];
  std::snprintf(text, sizeof text, "%.0f GFLOP/s = %d SMs x %d FP32 lanes/SM (compute capability %d.%d) x 2 FLOP/FMA x %.3f GHz peak clock",
                gflops, prop.multiProcessorCount, lanes, prop.major, prop.minor, clock_khz / 1e6);
  return {gflops, text};
}

void matmul_v1_naive_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  launch_over_grid("matmul_v1_naive_f32", matmul_v1_kernel, dim3(kV1Rows, kV1Cols), kV1Rows, kV1Cols, c, a, b, s);
}

void matmul_v2_coalesced_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  launch_over_grid("matmul_v2_coalesced_f32", matmul_v2_kernel, dim3(kV2Cols, kV2Rows), kV2Rows, kV2Cols, c, a, b, s);
}

void matmul_v3_smem_tiled_f32(float* c, const float* a, const float* b, const MatmulShape& s) {
  launch_over_grid("matmul_v3_smem_tiled_f32", matmul_v3_kernel<float>, dim3(kTile, kTile), kTile, kTile, c, a, b, s);
}

void matmul_v3_smem_tiled_f64(double* c, const double* a, const double* b, const MatmulShape& s) {
  launch_over_grid("matmul_v3_smem_tiled_f64", matmul_v3_kernel<double>, dim3(kTile, kTile), kTile, kTile, c, a, b, s);
}

}  // namespace lab::cuda
