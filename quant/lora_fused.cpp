// The CPU LoRA forwards of lora_fused.h: three matmuls (matmul_v5) against one packed matmul over
// [x | s x A^T] [W^T ; B^T] (packed_gemm_cpu.h), for an f32 and an NF4 base.
#include "quant/lora_fused.h"

#include "quant/nf4_kernels_cpu.h"
#include "quant/packed_gemm_cpu.h"
#include "tensor/error.h"
#include "tensor/matmul_cpu.h"

#include <algorithm>

namespace lab::quant {

namespace {

void check_lora(int64_t M, int64_t N, int64_t K, LoraRef lora, const char* what) {
  LAB_CHECK(M >= 0 && N >= 0 && K >= 0, "{}: sizes must be >= 0, got M {}, N {}, K {}", what, M, N, K);
  LAB_CHECK(lora.r >= 1, "{}: the LoRA rank must be >= 1, got {}", what, lora.r);
}

// y += s (x A^T) B^T: T = x A^T [M, r], U = T B^T [M, N], then one pass over y
void add_lora_unfused(const float* x, int64_t M, int64_t N, int64_t K, LoraRef lora, float* y) {
  thread_local std::vector<float> t, u;
  t.resize(size_t(M * lora.r));
  u.resize(size_t(M * N));
  matmul_v5_packed_simd_omp({x, K, 1}, {lora.A, 1, K}, t.data(), M, lora.r, K);           // A^T: (k, q) at q K + k
  matmul_v5_packed_simd_omp({t.data(), lora.r, 1}, {lora.B, 1, lora.r}, u.data(), M, N, lora.r);  // B^T: (q, j) at j r + q
  for (int64_t i = 0; i < M * N; i++) y[i] += lora.scaling * u[size_t(i)];
}

// T' = s (x A^T) [M, r], in a per-thread buffer
const float* scaled_xa(const float* x, int64_t M, int64_t K, LoraRef lora) {
  thread_local std::vector<float> t;
  t.resize(size_t(M * lora.r));
  matmul_v5_packed_simd_omp({x, K, 1}, {lora.A, 1, K}, t.data(), M, lora.r, K);
  for (float& v : t) v *= lora.scaling;
  return t.data();
}

// A = [x | T']: x [M, K] for columns [0, K), T' [M, r] for [K, K + r)
std::vector<ASegment> x_then_t(const float* x, int64_t K, const float* t, int64_t r) {
  std::vector<ASegment> a;
  if (K > 0) a.push_back({x, K, 0, K});
  a.push_back({t, r, K, K + r});
  return a;
}

// The rows k >= K of [W^T ; B^T]: B^T (k, j) = B[j, k - K]
void pack_b_lora_rows(const float* B, int64_t r, int64_t K, int64_t k0, int64_t kc, int64_t in_w, int64_t j0, int64_t cols, int64_t nr,
                      float* dst) {
  for (int64_t j = 0; j < cols && in_w < kc; j++) {
    const float* bs = B + (j0 + j) * r + (k0 + in_w - K);
    for (int64_t k = in_w; k < kc; k++) dst[k * nr + j] = bs[k - in_w];
  }
}

}  // namespace

void lora_forward_unfused(const float* x, int64_t M, const float* W, int64_t N, int64_t K, LoraRef lora, float* y) {
  check_lora(M, N, K, lora, "lora_forward_unfused");
  matmul_v5_packed_simd_omp({x, K, 1}, {W, 1, K}, y, M, N, K);  // W^T: (k, j) at j K + k
  add_lora_unfused(x, M, N, K, lora, y);
}

void qlora_forward_unfused(const float* x, int64_t M, Nf4MatrixRef w, LoraRef lora, float* y) {
  check_lora(M, w.N, w.K, lora, "qlora_forward_unfused");
  nf4_matmul_dequant_then_matmul(x, M, w, y);
  add_lora_unfused(x, M, w.N, w.K, lora, y);
}

// y = [x | T'] [W^T ; B^T], K + r terms per output
void lora_forward_fused(const float* x, int64_t M, const float* W, int64_t N, int64_t K, LoraRef lora, float* y, Isa isa) {
  check_lora(M, N, K, lora, "lora_forward_fused");
  const MicroKernel& mk = micro_kernel(isa);
  const float* t = scaled_xa(x, M, K, lora);
  auto pack_b = [&](int64_t k0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
    const int64_t in_w = std::clamp<int64_t>(K - k0, 0, kc);
    for (int64_t j = 0; j < cols && in_w > 0; j++) {  // W^T (k, j) = W[j, k]: along a row of W
      const float* ws = W + (j0 + j) * K + k0;
      for (int64_t k = 0; k < in_w; k++) dst[k * mk.nr + j] = ws[k];
    }
    pack_b_lora_rows(lora.B, lora.r, K, k0, kc, in_w, j0, cols, mk.nr, dst);
  };
  packed_gemm_with(mk, M, N, x_then_t(x, K, t, lora.r), pack_b, y, N);
}

// The same with W^T's rows decoded from NF4 as they are packed
void qlora_forward_fused(const float* x, int64_t M, Nf4MatrixRef w, LoraRef lora, float* y, Isa isa) {
  check_lora(M, w.N, w.K, lora, "qlora_forward_fused");
  check_blocksize(w.blocksize, "qlora_forward_fused");
  const MicroKernel& mk = micro_kernel(isa);
  LAB_ASSERT(mk.kc <= 256);
  const float* t = scaled_xa(x, M, w.K, lora);
  auto pack_b = [&](int64_t k0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
    const int64_t in_w = std::clamp<int64_t>(w.K - k0, 0, kc);
    float run[256];
    for (int64_t j = 0; j < cols && in_w > 0; j++) {
      nf4_decode_run(w.packed, w.absmax, w.blocksize, (j0 + j) * w.K + k0, in_w, run, isa);
      for (int64_t k = 0; k < in_w; k++) dst[k * mk.nr + j] = run[k];
    }
    pack_b_lora_rows(lora.B, lora.r, w.K, k0, kc, in_w, j0, cols, mk.nr, dst);
  };
  packed_gemm_with(mk, M, w.N, x_then_t(x, w.K, t, lora.r), pack_b, y, w.N);
}

namespace {
void fused_best(const float* x, int64_t M, const float* W, int64_t N, int64_t K, LoraRef lora, float* y) {
  lora_forward_fused(x, M, W, N, K, lora, y);
}
void qfused_best(const float* x, int64_t M, Nf4MatrixRef w, LoraRef lora, float* y) { qlora_forward_fused(x, M, w, lora, y); }
}  // namespace

const std::vector<LoraForwardVersion>& lora_forward_versions() {
  static const std::vector<LoraForwardVersion> versions = {
      {"unfused", "x W^T, x A^T, (x A^T) B^T: three matmuls, then y += s U (a second [M, N] pass)", lora_forward_unfused,
       qlora_forward_unfused},
      {"fused_concat", "one packed matmul over K + r: [x | s x A^T] [W^T ; B^T], the rank-r update in the same registers",
       fused_best, qfused_best}};
  return versions;
}

}  // namespace lab::quant
