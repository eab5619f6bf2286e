// GPU matrix multiply, one numbered version per optimization step (the slower ones stay: they are
// the lesson). CPU reference: tensor/matmul.cpp. All row-major, batched:
//
//   C[b] = A[b] B[b]   with A[b] = a + b * stride_a  ([M, K], contiguous),
//                           B[b] = b + b * stride_b  ([K, N], contiguous),  C[b] = c + b * M * N.
//
// A stride of 0 broadcasts one matrix over the batch.
#pragma once

#include <cstdint>

namespace lab::cuda {

struct MatmulShape {
  int64_t batch, M, N, K;
  int64_t stride_a, stride_b;  // elements between consecutive matrices of A and of B
};

// v1: one thread per output element, a dot product straight from global memory.
void matmul_v1_naive_f32(float* c, const float* a, const float* b, const MatmulShape& s);
// v2: 32x32 tiles of A and B staged in shared memory, so each global value is read N/32 times
// instead of N times.
void matmul_v2_smem_tiled_f32(float* c, const float* a, const float* b, const MatmulShape& s);
void matmul_v2_smem_tiled_f64(double* c, const double* a, const double* b, const MatmulShape& s);

// The fastest correct version, which lab::matmul calls.
inline void matmul_f32(float* c, const float* a, const float* b, const MatmulShape& s) { matmul_v2_smem_tiled_f32(c, a, b, s); }
inline void matmul_f64(double* c, const double* a, const double* b, const MatmulShape& s) { matmul_v2_smem_tiled_f64(c, a, b, s); }

}  // namespace lab::cuda
