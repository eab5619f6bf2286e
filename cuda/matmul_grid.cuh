// What the numbered matmul kernels of cuda/matmul*.cu share: the grid that covers C (columns on
// gridDim.x, row tiles on gridDim.y, the batch on gridDim.z, launched in chunks where y or z would
// pass 65535 blocks), and the 4-float loads and stores of v6-v8 with their bounds checks.
//
// Included by those .cu files only. Not here: the kernels themselves (cuda/matmul.h lists them).
#pragma once

#include "cuda/launch.cuh"
#include "cuda/matmul.h"

namespace lab::cuda::matmul_detail {

constexpr int64_t kMaxGridYZ = 65535;

// Launch kernel(c, a, b, s, batch0, row0) over every (batch, row tile, column tile), with blocks of
// `block` threads that cover block_rows rows and block_cols columns of C each. A failed launch
// throws CudaError naming `name` and the sizes.
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

// m[row, col..col+3] of a row-major [rows, cols] matrix, zero past its edges; col is a multiple of 4.
// kVec4: one 16-byte load, valid when cols % 4 == 0 and m is 16-byte aligned (then the 4 floats are
// all inside or all outside the matrix). Otherwise 4 loads, each checked.
template <bool kVec4>
__device__ inline float4 load4(const float* m, int64_t rows, int64_t cols, int64_t row, int64_t col) {
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
  if (row >= rows) return v;
  const float* p = m + row * cols + col;
  if constexpr (kVec4) {
    if (col < cols) v = *reinterpret_cast<const float4*>(p);
  } else {
    if (col < cols) v.x = p[0];
    if (col + 1 < cols) v.y = p[1];
    if (col + 2 < cols) v.z = p[2];
    if (col + 3 < cols) v.w = p[3];
  }
  return v;
}

// m[row, col..col+3] = v, skipping what falls outside [rows, cols]; the same alignment rule as load4.
template <bool kVec4>
__device__ inline void store4(float* m, int64_t rows, int64_t cols, int64_t row, int64_t col, float4 v) {
  if (row >= rows) return;
  float* p = m + row * cols + col;
  if constexpr (kVec4) {
    if (col < cols) *reinterpret_cast<float4*>(p) = v;
  } else {
    if (col < cols) p[0] = v.x;
    if (col + 1 < cols) p[1] = v.y;
    if (col + 2 < cols) p[2] = v.z;
    if (col + 3 < cols) p[3] = v.w;
  }
}

}  // namespace lab::cuda::matmul_detail
