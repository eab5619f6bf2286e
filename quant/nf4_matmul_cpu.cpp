// The CPU NF4 matmuls of nf4_matmul_cpu.h: dequantize-then-matmul, the fused GEMV (decode into a
// register, multiply into x) and the fused GEMM (decode while packing B's micro-panels).
// The decode itself is nf4_simd.h (in registers) and nf4_decode_run (a run into a buffer).
#include "quant/nf4_matmul_cpu.h"

#include "quant/nf4_kernels_cpu.h"
#include "quant/nf4_simd.h"
#include "quant/packed_gemm_cpu.h"
#include "tensor/error.h"
#include "tensor/matmul_cpu.h"

#include <omp.h>

#include <algorithm>

namespace lab::quant {

namespace {

using simd::nf4_value_at;

void check_ref(Nf4MatrixRef w, int64_t M, const char* what) {
  check_blocksize(w.blocksize, what);
  LAB_CHECK(M >= 0 && w.N >= 0 && w.K >= 0, "{}: sizes must be >= 0, got M {}, N {}, K {}", what, M, w.N, w.K);
}

// sum_k x[k] W(start + k), W(i) the NF4 value at flattened index i: the scalar edge of every row
inline float dot_scalar(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start, int64_t i0, int64_t i1,
                        const float* x) {
  float s = 0;
  for (int64_t i = i0; i < i1; i++) s += nf4_value_at(packed, absmax, blocksize, i) * x[i - start];
  return s;
}

// y = sum_k W[row, k] x[k] for the row starting at flattened index `start`: SIMD on runs of 16 that
// start at a multiple of 16 (one absmax each), scalar before and after.
float row_dot_scalar(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start, int64_t K, const float* x) {
  return dot_scalar(packed, absmax, blocksize, start, start, start + K, x);
}

#if LAB_NF4_X86
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's avx512fintrin.h: see nf4_simd.h
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
__attribute__((target("avx512f"))) float row_dot_avx512(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start,
                                                        int64_t K, const float* x) {
  const __m512 lut = _mm512_loadu_ps(nf4_table().data());
  const int64_t end = start + K;
  int64_t i = std::min(end, (start + 15) / 16 * 16);
  float s = dot_scalar(packed, absmax, blocksize, start, start, i, x);
  __m512 acc = _mm512_setzero_ps();
  for (; i + 16 <= end; i += 16) {
    // acc += (NF4[codes] * absmax) * x[16 values]
    const __m512 w = _mm512_mul_ps(simd::lookup16_avx512(packed + i / 2, lut), _mm512_set1_ps(absmax[i / blocksize]));
    acc = _mm512_fmadd_ps(w, _mm512_loadu_ps(x + (i - start)), acc);
  }
  return s + _mm512_reduce_add_ps(acc) + dot_scalar(packed, absmax, blocksize, start, i, end, x);
}

__attribute__((target("avx2,fma"))) float row_dot_avx2(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start,
                                                       int64_t K, const float* x) {
  const __m256 lut_lo = _mm256_loadu_ps(nf4_table().data()), lut_hi = _mm256_loadu_ps(nf4_table().data() + 8);
  const int64_t end = start + K;
  int64_t i = std::min(end, (start + 15) / 16 * 16);
  float s = dot_scalar(packed, absmax, blocksize, start, start, i, x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; i + 16 <= end; i += 16) {
    __m256 w0, w1;
    simd::lookup16_avx2(packed + i / 2, lut_lo, lut_hi, &w0, &w1);
    const __m256 a = _mm256_set1_ps(absmax[i / blocksize]);
    acc0 = _mm256_fmadd_ps(_mm256_mul_ps(w0, a), _mm256_loadu_ps(x + (i - start)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_mul_ps(w1, a), _mm256_loadu_ps(x + (i - start) + 8), acc1);
  }
  // horizontal sum of the 8 lanes of acc0 + acc1
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return s + _mm_cvtss_f32(h) + dot_scalar(packed, absmax, blocksize, start, i, end, x);
}
#pragma GCC diagnostic pop
#endif

using RowDot = float (*)(const uint8_t*, const float*, int64_t, int64_t, int64_t, const float*);

RowDot row_dot_for(Isa isa) {
#if LAB_NF4_X86
  if (isa == Isa::avx512f) return row_dot_avx512;
  if (isa == Isa::avx2_fma) return row_dot_avx2;
#endif
  (void)isa;
  return row_dot_scalar;
}

}  // namespace

// y = x (dequantize W)^T, the f32 W in a buffer kept between calls (per thread)
void nf4_matmul_dequant_then_matmul(const float* x, int64_t M, Nf4MatrixRef w, float* y) {
  check_ref(w, M, "nf4_matmul_dequant_then_matmul");
  thread_local std::vector<float> wf;
  wf.resize(size_t(w.N * w.K));
  nf4_dequant_fastest(w.packed, w.absmax, w.N * w.K, w.blocksize, wf.data());
  // B = W^T: element (k, j) is W[j, k], at j K + k
  matmul_v5_packed_simd_omp({x, w.K, 1}, {wf.data(), 1, w.K}, y, M, w.N, w.K);
}

// y[m, j] = sum_k x[m, k] W[j, k]: threads take rows j of W; each row is decoded once per row of x
void nf4_matmul_fused_gemv(const float* x, int64_t M, Nf4MatrixRef w, float* y, Isa isa) {
  check_ref(w, M, "nf4_matmul_fused_gemv");
  const RowDot dot = row_dot_for(isa);
  (void)micro_kernel(isa);  // the error for an ISA this CPU lacks
  (void)nf4_table();
#pragma omp parallel for schedule(static) if (w.N * w.K >= (int64_t(1) << 16) && !omp_in_parallel())
  for (int64_t j = 0; j < w.N; j++)
    for (int64_t m = 0; m < M; m++) y[m * w.N + j] = dot(w.packed, w.absmax, w.blocksize, j * w.K, w.K, x + m * w.K);
}

// The packed matmul with A = x and B = W^T: B's micro-panel (k0..k0+kc, j0..j0+cols) is row j of W,
// values k0..k0+kc, decoded (SIMD) into a buffer and written down column j of the panel.
void nf4_matmul_fused_gemm(const float* x, int64_t M, Nf4MatrixRef w, float* y, Isa isa) {
  check_ref(w, M, "nf4_matmul_fused_gemm");
  const MicroKernel& mk = micro_kernel(isa);
  LAB_ASSERT(mk.kc <= 256);
  (void)nf4_table();
  auto pack_b = [&](int64_t k0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
    float run[256];
    for (int64_t j = 0; j < cols; j++) {
      nf4_decode_run(w.packed, w.absmax, w.blocksize, (j0 + j) * w.K + k0, kc, run, isa);
      for (int64_t k = 0; k < kc; k++) dst[k * mk.nr + j] = run[k];
    }
  };
  packed_gemm_with(mk, M, w.N, {ASegment{x, w.K, 0, w.K}}, pack_b, y, w.N);
}

namespace {
void gemv_best(const float* x, int64_t M, Nf4MatrixRef w, float* y) { nf4_matmul_fused_gemv(x, M, w, y); }
void gemm_best(const float* x, int64_t M, Nf4MatrixRef w, float* y) { nf4_matmul_fused_gemm(x, M, w, y); }
}  // namespace

const std::vector<Nf4MatmulVersion>& nf4_matmul_versions() {
  static const std::vector<Nf4MatmulVersion> versions = {
      {"dequant_then_matmul", "decode all of W to f32 (v4), then the packed SIMD matmul on W^T", nf4_matmul_dequant_then_matmul},
      {"fused_gemv", "batch 1: decode 16 weights into a register, FMA with x; never write W", gemv_best},
      {"fused_gemm_packed", "decode W^T straight into the micro-kernel's packed panels", gemm_best}};
  return versions;
}

Tensor nf4_matmul_fused(const Tensor& x_in, const NF4Tensor& w) {
  LAB_CHECK(w.shape.size() == 2, "nf4_matmul_fused: the NF4 weight must be 2-D [out, in], got shape {}", shape_str(w.shape));
  const int64_t N = w.shape[0], K = w.shape[1];
  LAB_CHECK(x_in.defined() && x_in.dim() >= 1 && x_in.size(-1) == K, "nf4_matmul_fused: x of shape {} must end in {} features for weight {}",
            x_in.defined() ? shape_str(x_in.shape()) : "(undefined)", K, shape_str(w.shape));
  LAB_CHECK(x_in.device().is_cpu() && w.device().is_cpu(),
            "nf4_matmul_fused: the CPU kernel got x on {} and W on {} (HINT: on a GPU use cuda::nf4_gemm_f32, cuda/nf4_kernels.h)",
            x_in.device().str(), w.device().str());
  const Tensor x = x_in.to(DType::f32).contiguous();
  const Tensor absmax = nf4_absmax(w).contiguous();
  LAB_CHECK(absmax.numel() == w.blocks() && w.packed.numel() == (w.numel() + 1) / 2,
            "nf4_matmul_fused: weight {} needs {} packed bytes and {} absmax values, found {} and {}", shape_str(w.shape),
            (w.numel() + 1) / 2, w.blocks(), w.packed.numel(), absmax.numel());
  Shape out_shape = x.shape();
  out_shape.back() = N;
  Tensor y = Tensor::empty(out_shape, DType::f32);
  const int64_t M = K > 0 ? x.numel() / K : 0;
  const Nf4MatrixRef ref{w.packed.data<uint8_t>(), absmax.data<float>(), w.blocksize, N, K};
  if (K == 0 && y.numel() > 0) {
    y.fill_(0);
    return y;
  }
  if (M <= 4)
    nf4_matmul_fused_gemv(x.data<float>(), M, ref, y.data<float>());
  else
    nf4_matmul_fused_gemm(x.data<float>(), M, ref, y.data<float>());
  return y;
}

}  // namespace lab::quant
