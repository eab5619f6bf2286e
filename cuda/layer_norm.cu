// GPU LayerNorm: a block per row for the forward pass and for dx (each row's sums reduced with warp
// shuffles, cuda/block_reduce.cuh), and a block per 32 columns for dweight and dbias, which are sums
// over rows: 32 x 16 threads, lanes on neighbouring columns (coalesced), 16 rows of threads splitting
// the rows, their partial sums combined in a fixed order. No atomics: every result is deterministic.
// CPU reference and the math: tensor/layer_norm.cpp.
#include "cuda/block_reduce.cuh"
#include "cuda/launch.cuh"
#include "cuda/layer_norm.h"

#include <cmath>

namespace lab::cuda {

namespace {

template <typename T>
__global__ void forward_kernel(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t rows, int64_t C, T eps) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // depends only on blockIdx: the syncs are reached together
    const T* xr = x + r * C;
    // mean = (1/C) sum_c x_c
    T s = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += xr[c];
    const T m = block_sum(s, scratch) / T(C);
    // rstd = 1 / sqrt((1/C) sum_c (x_c - mean)^2 + eps)
    T ss = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) ss += (xr[c] - m) * (xr[c] - m);
    const T rs = T(1) / std::sqrt(block_sum(ss, scratch) / T(C) + eps);
    // y = (x - mean) * rstd * weight + bias
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const T xhat = (xr[c] - m) * rs;
      y[r * C + c] = xhat * (weight ? weight[c] : T(1)) + (bias ? bias[c] : T(0));
    }
    if (threadIdx.x == 0) mean[r] = m, rstd[r] = rs;
  }
}

template <typename T>
__global__ void backward_dx_kernel(T* dx, const T* dy, const T* x, const T* mean, const T* rstd, const T* weight, int64_t rows,
                                   int64_t C) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T m = mean[r], rs = rstd[r];
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
    // With g = dy * weight: the row sums of g and of g * xhat.
    T sg = 0, sgx = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const T g = dyr[c] * (weight ? weight[c] : T(1));
      sg += g;
      sgx += g * (xr[c] - m) * rs;
    }
    const T mean_g = block_sum(sg, scratch) / T(C);
    const T mean_gx = block_sum(sgx, scratch) / T(C);
    // dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const T g = dyr[c] * (weight ? weight[c] : T(1));
      dx[r * C + c] = rs * (g - mean_g - (xr[c] - m) * rs * mean_gx);
    }
  }
}

constexpr int kColX = 32, kColY = 16;

// dweight_c = sum_rows dy * xhat,  dbias_c = sum_rows dy; thread (tx, ty) sums rows ty, ty + 16, ...
template <typename T>
__global__ void backward_params_kernel(T* dweight, T* dbias, const T* dy, const T* x, const T* mean, const T* rstd, int64_t rows,
                                       int64_t C) {
  __shared__ T partial_w[kColY][kColX], partial_b[kColY][kColX];
  const int tx = threadIdx.x, ty = threadIdx.y;
  // The loop depends only on blockIdx, so every thread reaches both __syncthreads.
  for (int64_t tile = blockIdx.x; tile < (C + kColX - 1) / kColX; tile += gridDim.x) {
    const int64_t c = tile * kColX + tx;
    T w = 0, b = 0;
    if (c < C)
      for (int64_t r = ty; r < rows; r += kColY) {
        w += dy[r * C + c] * (x[r * C + c] - mean[r]) * rstd[r];
        b += dy[r * C + c];
      }
    partial_w[ty][tx] = w, partial_b[ty][tx] = b;
    __syncthreads();
    if (ty == 0 && c < C) {
      for (int y = 1; y < kColY; y++) w += partial_w[y][tx], b += partial_b[y][tx];
      if (dweight) dweight[c] = w;
      if (dbias) dbias[c] = b;
    }
    __syncthreads();  // the partials are rewritten by the next tile
  }
}

// Blocks for a loop over `work` items, capped: the kernels loop with a grid stride over the rest.
unsigned blocks_for(int64_t work) { return unsigned(std::min<int64_t>(work, int64_t(multiprocessor_count()) * 32)); }

template <typename T>
void forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t rows, int64_t C, T eps) {
  if (rows == 0 || C == 0) return;
  forward_kernel<T><<<blocks_for(rows), row_threads(C)>>>(y, mean, rstd, x, weight, bias, rows, C, eps);
  CUDA_CHECK_LAUNCH(kernel_name<T>("layer_norm_forward"), {"rows", rows}, {"C", C});
}

template <typename T>
void backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* mean, const T* rstd, const T* weight, int64_t rows,
              int64_t C) {
  if (C == 0) return;
  if (rows > 0) {
    backward_dx_kernel<T><<<blocks_for(rows), row_threads(C)>>>(dx, dy, x, mean, rstd, weight, rows, C);
    CUDA_CHECK_LAUNCH(kernel_name<T>("layer_norm_backward_dx"), {"rows", rows}, {"C", C});
  }
  // With rows == 0 the sums are 0, which this kernel writes too.
  if (dweight || dbias) {
    backward_params_kernel<T><<<blocks_for((C + kColX - 1) / kColX), dim3(kColX, kColY)>>>(dweight, dbias, dy, x, mean, rstd, rows, C);
    CUDA_CHECK_LAUNCH(kernel_name<T>("layer_norm_backward_params"), {"rows", rows}, {"C", C});
  }
}

}  // namespace

void layer_norm_forward_f32(float* y, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                            int64_t rows, int64_t C, float eps) {
  forward(y, mean, rstd, x, weight, bias, rows, C, eps);
}
void layer_norm_forward_f64(double* y, double* mean, double* rstd, const double* x, const double* weight, const double* bias,
                            int64_t rows, int64_t C, double eps) {
  forward(y, mean, rstd, x, weight, bias, rows, C, eps);
}

void layer_norm_backward_f32(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* mean,
                             const float* rstd, const float* weight, int64_t rows, int64_t C) {
  backward(dx, dweight, dbias, dy, x, mean, rstd, weight, rows, C);
}
void layer_norm_backward_f64(double* dx, double* dweight, double* dbias, const double* dy, const double* x, const double* mean,
                             const double* rstd, const double* weight, int64_t rows, int64_t C) {
  backward(dx, dweight, dbias, dy, x, mean, rstd, weight, rows, C);
}

}  // namespace lab::cuda
