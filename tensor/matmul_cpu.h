// The CPU matmul kernels, numbered in the order lesson 08 builds them: C[M,N] = A[M,K] B[K,N].
//
//   v1 matmul_naive    the definition, i-j-k: C[i,j] = sum_k A[i,k] B[k,j]. The reference every other
//                      matmul (CPU and GPU) is tested against. B is walked down a column: one cache
//                      line fetched per multiply-add.
//   v2-v3 matmul_blocked  i-k-j order inside cache-sized blocks, OpenMP over row blocks: the innermost
//                      loop runs along a row of B and of C (unit stride, so the compiler vectorizes
//                      it), and a block of B is reused from cache by every row of the block of A.
//   v4 matmul_v4_packed_simd   GotoBLAS/BLIS: copy a KC x NC panel of B and an MC x KC block of A into
//                      micro-panels laid out in the order a register-blocked SIMD micro-kernel reads
//                      them (matmul_microkernel.h), one thread. The copy reads A and B through
//                      (row stride, column stride), so a transposed view costs nothing more.
//   v5 matmul_v5_packed_simd_omp  v4 with OpenMP over the MC row blocks (both cores share one packed
//                      panel of B); matmul_v5_batched runs a batch of products, one product a thread
//                      when there are several, and stays on one thread for tiny products.
//
// lab::matmul (matmul.h) calls v5 for f32 and matmul_blocked for f64. bench/bench_matmul.cpp times
// all of them against OpenBLAS (figures in bench/RESULTS.md).
#pragma once

#include "tensor/matmul_microkernel.h"

#include <cstdint>

namespace lab {

template <typename T> void matmul_naive(const T* a, const T* b, T* c, int64_t M, int64_t N, int64_t K);
template <typename T> void matmul_blocked(const T* a, const T* b, T* c, int64_t M, int64_t N, int64_t K);

// A read-only f32 matrix view: element (i, j) is data[i * row_stride + j * col_stride].
// Row-major [R, C] is {p, C, 1}; its transpose is {p, 1, C}.
struct MatrixRefF32 {
  const float* data;
  int64_t row_stride, col_stride;
};

// C (contiguous [M, N], overwritten) = A [M, K] @ B [K, N]. Any M, N, K >= 0.
// `isa` picks the micro-kernel (tests run each one); the default is the fastest this CPU runs.
void matmul_v4_packed_simd(MatrixRefF32 a, MatrixRefF32 b, float* c, int64_t M, int64_t N, int64_t K, Isa isa = best_isa());
void matmul_v5_packed_simd_omp(MatrixRefF32 a, MatrixRefF32 b, float* c, int64_t M, int64_t N, int64_t K, Isa isa = best_isa());
// nbatch products: C_i = A_i @ B_i with A_i at a.data + a_offsets[i] (same strides for all i),
// likewise B_i, and C_i at c + i * M * N.
void matmul_v5_batched(int64_t nbatch, MatrixRefF32 a, const int64_t* a_offsets, MatrixRefF32 b, const int64_t* b_offsets,
                       float* c, int64_t M, int64_t N, int64_t K, Isa isa = best_isa());

}  // namespace lab
