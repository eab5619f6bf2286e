// The GPU LoRA forwards of cuda/lora_fused.h: matmul_f32 three times plus y += s U, against the tiled
// kernel of cuda/tile_gemm.cuh with LoRA's rank-r update in its epilogue (f32 or NF4 base).
#include "cuda/launch.cuh"
#include "cuda/lora_fused.h"
#include "cuda/matmul.h"
#include "cuda/nf4_device.cuh"
#include "cuda/tile_gemm.cuh"

namespace lab::cuda {

namespace {

// t[m, q] = s sum_k x[m, k] A[q, k]: a thread an entry (M r of them; K is the layer's width)
__global__ void scaled_xa_kernel(float* t, const float* x, int64_t M, int64_t K, LoraGpu lora) {
  for (int64_t e = first_index(); e < M * lora.r; e += grid_stride()) {
    const int64_t m = e / lora.r, q = e % lora.r;
    float s = 0;
    for (int64_t k = 0; k < K; k++) s = fmaf(x[m * K + k], lora.A[q * K + k], s);
    t[e] = lora.scaling * s;
  }
}

// y += s u
__global__ void add_scaled_kernel(float* y, const float* u, float s, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = fmaf(s, u[i], y[i]);
}

// acc + sum_q T'[m, q] B[n, q]: the rank-r update of output (m, n), added before the store
__device__ inline float plus_lora(float acc, const float* t, const float* B, int64_t r, int64_t m, int64_t n) {
  for (int64_t q = 0; q < r; q++) acc = fmaf(t[m * r + q], B[n * r + q], acc);
  return acc;
}

__global__ void lora_fused_kernel(float* y, const float* x, int64_t M, const float* W, int64_t N, int64_t K, const float* t, LoraGpu lora) {
  tile::gemm_xwt(
      y, x, M, N, K, [&](int64_t n, int64_t k) { return W[n * K + k]; },
      [&](int64_t m, int64_t n, float acc) { return plus_lora(acc, t, lora.B, lora.r, m, n); });
}

__global__ void qlora_fused_kernel(float* y, const float* x, int64_t M, NF4Weight w, int64_t N, int64_t K, const float* t, LoraGpu lora,
                                   const __grid_constant__ NF4Table table) {
  __shared__ nf4dev::Books books;
  nf4dev::load_books(books, table, w);
  tile::gemm_xwt(
      y, x, M, N, K, [&](int64_t n, int64_t k) { return nf4dev::value_at(w, books, n * K + k); },
      [&](int64_t m, int64_t n, float acc) { return plus_lora(acc, t, lora.B, lora.r, m, n); });
}

// y += s (x A^T) B^T with matmul_f32: T = x A^T, U = T B^T, then one pass over y
void add_lora_unfused(float* y, const float* x, int64_t M, int64_t N, int64_t K, const LoraGpuTransposed& lora, float* t, float* u) {
  matmul_f32(t, x, lora.At, MatmulShape{1, M, lora.r, K, 0, 0});
  matmul_f32(u, t, lora.Bt, MatmulShape{1, M, N, lora.r, 0, 0});
  add_scaled_kernel<<<grid_for(M * N), kThreads>>>(y, u, lora.scaling, M * N);
  CUDA_CHECK_LAUNCH("lora_forward_unfused (y += s U)", {"M", M}, {"N", N});
}

}  // namespace

void lora_scaled_xa(float* t, const float* x, int64_t M, int64_t K, const LoraGpu& lora) {
  if (M == 0) return;
  scaled_xa_kernel<<<grid_for(M * lora.r), kThreads>>>(t, x, M, K, lora);
  CUDA_CHECK_LAUNCH("lora_scaled_xa", {"M", M}, {"K", K}, {"r", lora.r});
}

void lora_forward_unfused_f32(float* y, const float* x, int64_t M, const float* Wt, int64_t N, int64_t K, const LoraGpuTransposed& lora,
                              float* scratch_t, float* scratch_u) {
  if (M == 0 || N == 0) return;
  matmul_f32(y, x, Wt, MatmulShape{1, M, N, K, 0, 0});
  add_lora_unfused(y, x, M, N, K, lora, scratch_t, scratch_u);
}

void qlora_forward_unfused_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K,
                               const LoraGpuTransposed& lora, float* scratch_t, float* scratch_u, float* scratch_w, const NF4Table& table) {
  if (M == 0 || N == 0) return;
  nf4_linear_f32(y, x, M, w, N, K, scratch_w, table);
  add_lora_unfused(y, x, M, N, K, lora, scratch_t, scratch_u);
}

void lora_forward_fused_f32(float* y, const float* x, int64_t M, const float* W, int64_t N, int64_t K, const LoraGpu& lora, float* scratch_t) {
  if (M == 0 || N == 0) return;
  lora_scaled_xa(scratch_t, x, M, K, lora);
  lora_fused_kernel<<<tile::grid_of(M, N), dim3(16, 16)>>>(y, x, M, W, N, K, scratch_t, lora);
  CUDA_CHECK_LAUNCH("lora_forward_fused_f32", {"M", M}, {"N", N}, {"K", K}, {"r", lora.r});
}

void qlora_forward_fused_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, const LoraGpu& lora,
                             float* scratch_t, const NF4Table& table) {
  if (M == 0 || N == 0) return;
  lora_scaled_xa(scratch_t, x, M, K, lora);
  qlora_fused_kernel<<<tile::grid_of(M, N), dim3(16, 16)>>>(y, x, M, w, N, K, scratch_t, lora, table);
  CUDA_CHECK_LAUNCH("qlora_forward_fused_f32", {"M", M}, {"N", N}, {"K", K}, {"r", lora.r});
}

}  // namespace lab::cuda
