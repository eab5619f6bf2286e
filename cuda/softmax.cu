// GPU softmax and log-softmax, with two kernels, chosen by where a softmax's elements lie:
//   inner == 1 (rows)     a block per row: three passes over the row (max, sum of exp, write), each
//                         reduction through warp shuffles (cuda/block_reduce.cuh).
//   inner > 1 (columns)   a thread per (o, i): neighbouring threads read neighbouring columns, so
//                         each of its three passes over k is coalesced.
// Both subtract the max first, so exp never overflows. CPU reference: tensor/softmax.cpp.
// Not here: their backward passes (elementwise ops and sums, in autograd/ops_nn.cpp).
#include "cuda/block_reduce.cuh"
#include "cuda/launch.cuh"
#include "cuda/softmax.h"

#include <cmath>

namespace lab::cuda {

namespace {

// y_k = exp(x_k - m) / s  or  y_k = x_k - m - log(s),  with m = max_k x_k and s = sum_k exp(x_k - m).
template <typename T> __device__ T softmax_value(T x, T m, T s, bool log_softmax) {
  return log_softmax ? x - m - std::log(s) : std::exp(x - m) / s;
}

template <typename T> __global__ void softmax_rows_kernel(T* out, const T* x, int64_t rows, int64_t n, bool log_softmax) {
  __shared__ T scratch[32];
  // The loop depends only on blockIdx, so every thread of the block reaches the syncs in block_reduce.
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * n;
    T m = MaxCombine::identity<T>();
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) m = MaxCombine::combine(m, xr[k]);
    m = block_max(m, scratch);
    T s = 0;
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) s += std::exp(xr[k] - m);
    s = block_sum(s, scratch);
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) out[row * n + k] = softmax_value(xr[k], m, s, log_softmax);
  }
}

template <typename T>
__global__ void softmax_cols_kernel(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax) {
  for (int64_t col = first_index(); col < outer * inner; col += grid_stride()) {
    // Element k of this softmax sits at base + k * inner.
    const int64_t base = (col / inner) * n * inner + col % inner;
    T m = MaxCombine::identity<T>();
    for (int64_t k = 0; k < n; k++) m = MaxCombine::combine(m, x[base + k * inner]);
    T s = 0;
    for (int64_t k = 0; k < n; k++) s += std::exp(x[base + k * inner] - m);
    for (int64_t k = 0; k < n; k++) out[base + k * inner] = softmax_value(x[base + k * inner], m, s, log_softmax);
  }
}

template <typename T> void softmax(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax) {
  if (outer == 0 || n == 0 || inner == 0) return;
  if (inner == 1) {
    const unsigned blocks = unsigned(std::min<int64_t>(outer, int64_t(multiprocessor_count()) * 32));
    softmax_rows_kernel<T><<<blocks, row_threads(n)>>>(out, x, outer, n, log_softmax);
  } else {
    softmax_cols_kernel<T><<<grid_for(outer * inner), kThreads>>>(out, x, outer, n, inner, log_softmax);
  }
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void softmax_f32(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax) {
  softmax(out, x, outer, n, inner, log_softmax);
}
void softmax_f64(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax) {
  softmax(out, x, outer, n, inner, log_softmax);
}

}  // namespace lab::cuda
