// The CPU's way through strided tensors: call f(offset_0, ..., offset_{N-1}) for every element of
// `shape`, in row-major order, where offset_k is the element offset into operand k given its
// strides. The innermost dim is a tight loop; OpenMP splits the elements into one chunk per thread
// when there are enough of them to be worth it.
//
// Callers take a contiguous fast path first when they can (a plain loop over numel); this is the
// general case: transposed, sliced, broadcast (stride 0) operands.
#pragma once

#include "tensor/shape.h"

#include <array>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lab {

// Below this many elements a loop runs on one thread: starting threads costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

// f(i) for i in [0, n), on every core when n is large. (A function rather than a pragma at each
// call site, because an OpenMP pragma cannot appear inside LAB_DISPATCH_DTYPE's macro argument.)
template <typename F> void parallel_for(int64_t n, F f) {
#pragma omp parallel for if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; i++) f(i);
}

template <size_t N, typename F>
void for_each_strided(const Shape& shape, const std::array<const int64_t*, N>& strides, F f) {
  const int64_t total = numel(shape);
  if (total == 0) return;
  const int ndim = int(shape.size());
  if (ndim == 0) {
    std::array<int64_t, N> zero{};
    std::apply(f, zero);
    return;
  }
  const int64_t inner = shape[ndim - 1];
  const int64_t rows = total / inner;

  // Each (thread's) range of rows starts by turning its first row number into a multi-index.
  auto run_rows = [&](int64_t row_begin, int64_t row_end) {
    int64_t index[kMaxDims] = {};
    std::array<int64_t, N> base{};
    int64_t r = row_begin;
    for (int d = ndim - 2; d >= 0; d--) {
      index[d] = r % shape[d];
      r /= shape[d];
      for (size_t k = 0; k < N; k++) base[k] += index[d] * strides[k][d];
    }
    for (int64_t row = row_begin; row < row_end; row++) {
      std::array<int64_t, N> off = base;
      for (int64_t i = 0; i < inner; i++) {
        std::apply(f, off);
        for (size_t k = 0; k < N; k++) off[k] += strides[k][ndim - 1];
      }
      // Advance the multi-index of the outer dims by one row, carrying like an odometer.
      for (int d = ndim - 2; d >= 0; d--) {
        index[d]++;
        for (size_t k = 0; k < N; k++) base[k] += strides[k][d];
        if (index[d] < shape[d]) break;
        for (size_t k = 0; k < N; k++) base[k] -= shape[d] * strides[k][d];
        index[d] = 0;
      }
    }
  };

#ifdef _OPENMP
  if (total >= kParallelGrain && rows > 1) {
#pragma omp parallel
    {
      int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
      run_rows(rows * t / threads, rows * (t + 1) / threads);
    }
    return;
  }
#endif
  run_rows(0, rows);
}

}  // namespace lab
