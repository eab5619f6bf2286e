// GPU cross-entropy: a block per row for the per-row losses of the forward pass (max, then the sum
// of exponentials, each reduced with warp shuffles), and a thread per element for the backward rule.
// No atomics: the mean over rows is a separate deterministic sum (tensor/loss.cpp calls cuda/reduce.cu).
// CPU reference and the math: tensor/loss.cpp.
#include "cuda/block_reduce.cuh"
#include "cuda/cross_entropy.h"
#include "cuda/launch.cuh"

#include <cmath>

namespace lab::cuda {

namespace {

// row_loss[r] = m + log(sum_v exp(z_v - m)) - z_t,  m = max_v z_v, written as (m - z_t) + log(s).
template <typename T>
__global__ void cross_entropy_rows_kernel(T* row_loss, const T* logits, const int64_t* targets, int64_t N, int64_t V,
                                          int64_t ignore_index) {
  __shared__ T scratch[32];
  // The loop and the skip depend only on the row, so a block's threads reach block_reduce's syncs together.
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    const int64_t t = targets[r];
    if (t == ignore_index || t < 0 || t >= V) {  // out of range never passes the host check; the test guards memory
      if (threadIdx.x == 0) row_loss[r] = T(0);
      continue;
    }
    const T* z = logits + r * V;
    T m = MaxCombine::identity<T>();
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) m = MaxCombine::combine(m, z[v]);
    m = block_max(m, scratch);
    T s = 0;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) s += std::exp(z[v] - m);
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) row_loss[r] = (m - z[t]) + std::log(s);
  }
}

// dz = scale * (p - [v == t]) for counted rows, 0 for ignored ones; p is read from dlogits and overwritten.
template <typename T>
__global__ void cross_entropy_backward_kernel(T* dlogits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index,
                                              T scale) {
  for (int64_t i = first_index(); i < N * V; i += grid_stride()) {
    const int64_t t = targets[i / V], v = i % V;
    dlogits[i] = t == ignore_index ? T(0) : scale * (dlogits[i] - (v == t ? T(1) : T(0)));
  }
}

template <typename T>
void rows(T* row_loss, const T* logits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index) {
  if (N == 0) return;
  const unsigned blocks = unsigned(std::min<int64_t>(N, int64_t(multiprocessor_count()) * 32));
  cross_entropy_rows_kernel<T><<<blocks, row_threads(V)>>>(row_loss, logits, targets, N, V, ignore_index);
  CUDA_CHECK_LAUNCH(kernel_name<T>("cross_entropy_rows"), {"N", N}, {"V", V});
}

template <typename T> void backward(T* dlogits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index, T scale) {
  if (N * V == 0) return;
  cross_entropy_backward_kernel<T><<<grid_for(N * V), kThreads>>>(dlogits, targets, N, V, ignore_index, scale);
  CUDA_CHECK_LAUNCH(kernel_name<T>("cross_entropy_backward"), {"N", N}, {"V", V});
}

}  // namespace

void cross_entropy_rows_f32(float* row_loss, const float* logits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index) {
  rows(row_loss, logits, targets, N, V, ignore_index);
}
void cross_entropy_rows_f64(double* row_loss, const double* logits, const int64_t* targets, int64_t N, int64_t V,
                            int64_t ignore_index) {
  rows(row_loss, logits, targets, N, V, ignore_index);
}

void cross_entropy_backward_f32(float* dlogits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index, float scale) {
  backward(dlogits, targets, N, V, ignore_index, scale);
}
void cross_entropy_backward_f64(double* dlogits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index, double scale) {
  backward(dlogits, targets, N, V, ignore_index, scale);
}

}  // namespace lab::cuda
