// GPU softmax and log-softmax, with two kernels, chosen by where a softmax's elements lie:
//   inner == 1 (rows)     a block per row: three passes over the row (max, sum of exp, write), each
//                         reduction through warp shuffles (cuda/block_reduce.cuh).
//   inner > 1 (columns)   a thread per (o, i): neighbouring threads read neighbouring columns, so
//                         each of its three passes over k is coalesced.
// Both subtract the max first, so exp never overflows. CPU reference: tensor/softmax.cpp.
// causal_softmax (the attention softmax) and its backward: a warp per row, each lane striding over
// the row's visible keys only (its masked tail is written as zeros without reading the scores).
// Not here: softmax's and log_softmax's backward passes (elementwise ops and sums, in autograd/ops_nn.cpp).
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
  CUDA_CHECK_LAUNCH(kernel_name<T>(log_softmax ? "log_softmax" : "softmax"), {"outer", outer}, {"n", n}, {"inner", inner});
}

constexpr int kWarpsPerBlock = 8;  // rows per block of the causal kernels (a warp a row)

// The warp's row in a grid-stride loop over rows, and how many keys it sees.
__device__ inline int64_t first_warp_row() { return int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; }
__device__ inline int64_t warp_row_stride() { return int64_t(gridDim.x) * kWarpsPerBlock; }
__device__ inline int64_t causal_visible(int64_t row, int64_t tq, int64_t tk) { return row % tq + (tk - tq) + 1; }

template <typename T> __global__ void causal_softmax_kernel(T* y, const T* x, int64_t rows, int64_t tq, int64_t tk) {
  const int lane = threadIdx.x % 32;
  // The loop bound is the same for the 32 lanes of a warp, so the shuffles see the whole warp.
  for (int64_t row = first_warp_row(); row < rows; row += warp_row_stride()) {
    const T* xr = x + row * tk;
    T* yr = y + row * tk;
    const int64_t n = causal_visible(row, tq, tk);
    // m = max over the visible keys
    T m = MaxCombine::identity<T>();
    for (int64_t k = lane; k < n; k += 32) m = MaxCombine::combine(m, xr[k]);
    m = warp_reduce<MaxCombine>(m);
    // s = sum_{visible k} exp(x_k - m)
    T s = 0;
    for (int64_t k = lane; k < n; k += 32) s += std::exp(xr[k] - m);
    s = warp_reduce<SumCombine>(s);
    // y_k = exp(x_k - m) / s on the visible keys, 0 on the masked ones
    for (int64_t k = lane; k < n; k += 32) yr[k] = std::exp(xr[k] - m) / s;
    for (int64_t k = n + lane; k < tk; k += 32) yr[k] = T(0);
  }
}

template <typename T>
__global__ void causal_softmax_backward_kernel(T* dx, const T* y, const T* g, int64_t rows, int64_t tq, int64_t tk) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = first_warp_row(); row < rows; row += warp_row_stride()) {
    const T* yr = y + row * tk;
    const T* gr = g + row * tk;
    T* dr = dx + row * tk;
    const int64_t n = causal_visible(row, tq, tk);
    // dot = sum_{visible j} g_j y_j
    T dot = 0;
    for (int64_t k = lane; k < n; k += 32) dot += gr[k] * yr[k];
    dot = warp_reduce<SumCombine>(dot);
    // dx_j = y_j (g_j - dot) on the visible keys, 0 on the masked ones
    for (int64_t k = lane; k < n; k += 32) dr[k] = yr[k] * (gr[k] - dot);
    for (int64_t k = n + lane; k < tk; k += 32) dr[k] = T(0);
  }
}

// Blocks for `rows` rows at kWarpsPerBlock a block, capped (the kernels loop over rows).
inline unsigned causal_blocks(int64_t rows) {
  return unsigned(std::min<int64_t>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock, int64_t(multiprocessor_count()) * 64));
}

template <typename T> void causal_softmax(T* y, const T* x, int64_t rows, int64_t tq, int64_t tk) {
  if (rows == 0 || tk == 0) return;
  causal_softmax_kernel<T><<<causal_blocks(rows), kWarpsPerBlock * 32>>>(y, x, rows, tq, tk);
  CUDA_CHECK_LAUNCH(kernel_name<T>("causal_softmax"), {"rows", rows}, {"Tq", tq}, {"Tk", tk});
}

template <typename T> void causal_softmax_backward(T* dx, const T* y, const T* g, int64_t rows, int64_t tq, int64_t tk) {
  if (rows == 0 || tk == 0) return;
  causal_softmax_backward_kernel<T><<<causal_blocks(rows), kWarpsPerBlock * 32>>>(dx, y, g, rows, tq, tk);
  CUDA_CHECK_LAUNCH(kernel_name<T>("causal_softmax_backward"), {"rows", rows}, {"Tq", tq}, {"Tk", tk});
}

}  // namespace

void causal_softmax_f32(float* y, const float* x, int64_t rows, int64_t tq, int64_t tk) { causal_softmax(y, x, rows, tq, tk); }
void causal_softmax_f64(double* y, const double* x, int64_t rows, int64_t tq, int64_t tk) { causal_softmax(y, x, rows, tq, tk); }
void causal_softmax_backward_f32(float* dx, const float* y, const float* g, int64_t rows, int64_t tq, int64_t tk) {
  causal_softmax_backward(dx, y, g, rows, tq, tk);
}
void causal_softmax_backward_f64(double* dx, const double* y, const double* g, int64_t rows, int64_t tq, int64_t tk) {
  causal_softmax_backward(dx, y, g, rows, tq, tk);
}

void softmax_f32(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax) {
  softmax(out, x, outer, n, inner, log_softmax);
}
void softmax_f64(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax) {
  softmax(out, x, outer, n, inner, log_softmax);
}

}  // namespace lab::cuda
