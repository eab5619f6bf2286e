// CPU matmul kernels: see matmul_cpu.h.
#include "tensor/matmul_cpu.h"

#include <algorithm>
#include <cstring>

namespace lab {

template <typename T> void matmul_naive(const T* a, const T* b, T* c, int64_t M, int64_t N, int64_t K) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      T acc = 0;
      for (int64_t k = 0; k < K; k++) acc += a[i * K + k] * b[k * N + j];
      c[i * N + j] = acc;
    }
}

// Block sizes: a KC x NC panel of B (256 x 256 floats = 256 KiB) stays in L2 while the MC rows of
// A that use it stream past; MC rows per OpenMP task keep both cores busy at M >= 64.
constexpr int64_t MC = 32, KC = 256, NC = 256;

template <typename T> void matmul_blocked(const T* a, const T* b, T* c, int64_t M, int64_t N, int64_t K) {
  std::memset(c, 0, sizeof(T) * size_t(M * N));
#pragma omp parallel for schedule(dynamic) if (M * N * K >= (1 << 18))
  for (int64_t i0 = 0; i0 < M; i0 += MC) {
    int64_t i1 = std::min(i0 + MC, M);
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
      int64_t k1 = std::min(k0 + KC, K);
      for (int64_t j0 = 0; j0 < N; j0 += NC) {
        int64_t j1 = std::min(j0 + NC, N);
        for (int64_t i = i0; i < i1; i++) {
          T* c_row = c + i * N;
          for (int64_t k = k0; k < k1; k++) {
            const T a_ik = a[i * K + k];
            const T* b_row = b + k * N;
            // C[i, j0:j1] += A[i,k] * B[k, j0:j1]: unit stride, vectorized by the compiler.
            for (int64_t j = j0; j < j1; j++) c_row[j] += a_ik * b_row[j];
          }
        }
      }
    }
  }
}

template void matmul_naive<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void matmul_naive<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);
template void matmul_blocked<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void matmul_blocked<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);

}  // namespace lab
