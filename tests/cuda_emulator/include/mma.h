// WMMA (nvcuda::wmma) for the CPU emulator. On a GPU a fragment is spread over the 32 lanes of a warp
// in an opaque layout; here every lane holds the whole tile, so each lane's load, product and store
// compute the full result (the same values from every lane). What stays checked is the contract:
// all 32 lanes call each operation together, with the same pointer and leading dimension.
#pragma once

#include "tests/cuda_emulator/emulator.h"

#include <cuda_bf16.h>

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

namespace detail {
template <typename Use, int M, int N, int K> struct Shape;
template <int M, int N, int K> struct Shape<matrix_a, M, N, K> { static constexpr int rows = M, cols = K; };
template <int M, int N, int K> struct Shape<matrix_b, M, N, K> { static constexpr int rows = K, cols = N; };
template <int M, int N, int K> struct Shape<accumulator, M, N, K> { static constexpr int rows = M, cols = N; };
inline float to_float(float v) { return v; }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static constexpr int rows = detail::Shape<Use, M, N, K>::rows, cols = detail::Shape<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols;
  T x[num_elements];
};

template <typename Use, int M, int N, int K, typename T, typename L>
void fill_fragment(fragment<Use, M, N, K, T, L>& f, T value) {
  emu::warp_collective("wmma::fill_fragment", nullptr, 0);
  for (T& e : f.x) e = value;
}

template <typename Use, int M, int N, int K, typename T, typename L>
void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const T* p, unsigned ldm) {
  static_assert(!std::is_same_v<L, col_major>, "the emulator's WMMA loads row-major tiles only (all cuda/ uses)");
  emu::warp_collective("wmma::load_matrix_sync", p, ldm);
  for (int r = 0; r < f.rows; r++)
    for (int c = 0; c < f.cols; c++) f.x[r * f.cols + c] = p[size_t(r) * ldm + c];
}

template <int M, int N, int K, typename T>
void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T, void>& f, unsigned ldm, layout_t layout) {
  emu::warp_collective("wmma::store_matrix_sync", p, ldm);
  for (int r = 0; r < M; r++)
    for (int c = 0; c < N; c++) (layout == mem_row_major ? p[size_t(r) * ldm + c] : p[size_t(c) * ldm + r]) = f.x[r * N + c];
}

// d = a b + c, products of the (bf16) inputs exact in f32, summed in f32 along k.
template <int M, int N, int K, typename Tab, typename La, typename Lb, typename Tc>
void mma_sync(fragment<accumulator, M, N, K, Tc, void>& d, const fragment<matrix_a, M, N, K, Tab, La>& a,
              const fragment<matrix_b, M, N, K, Tab, Lb>& b, const fragment<accumulator, M, N, K, Tc, void>& c) {
  emu::warp_collective("wmma::mma_sync", nullptr, 0);
  fragment<accumulator, M, N, K, Tc, void> out;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float acc = c.x[i * N + j];
      for (int k = 0; k < K; k++) acc += detail::to_float(a.x[i * K + k]) * detail::to_float(b.x[k * N + j]);
      out.x[i * N + j] = acc;
    }
  d = out;
}

}  // namespace nvcuda::wmma
