// The CPU matmul kernels on raw row-major pointers: C[M,N] = A[M,K] B[K,N].
//
//   matmul_naive    the definition, i-j-k: C[i,j] = sum_k A[i,k] B[k,j]. The reference every other
//                   matmul (CPU and GPU) is tested against. B is walked down a column: one cache
//                   line fetched per multiply-add.
//   matmul_blocked  i-k-j order inside cache-sized blocks, OpenMP over row blocks: the innermost
//                   loop runs along a row of B and of C (unit stride, so the compiler vectorizes
//                   it), and a block of B is reused from cache by every row of the block of A.
//
// lab::matmul (matmul.h) calls matmul_blocked. bench/bench_matmul.cpp times both against OpenBLAS.
// The numbered SIMD versions come in lesson 08.
#pragma once

#include <cstdint>

namespace lab {

template <typename T> void matmul_naive(const T* a, const T* b, T* c, int64_t M, int64_t N, int64_t K);
template <typename T> void matmul_blocked(const T* a, const T* b, T* c, int64_t M, int64_t N, int64_t K);

}  // namespace lab
