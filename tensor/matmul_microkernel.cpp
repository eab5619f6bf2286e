// The micro-kernels of the packed matmul: scalar (any CPU), AVX2+FMA 6x16, AVX-512 12x32. See
// matmul_microkernel.h for the contract; matmul_packed.cpp for the loops that feed them.
//
// Reference: K. Goto and R. van de Geijn, "Anatomy of High-Performance Matrix Multiplication",
// ACM TOMS 34(3), 2008; F. Van Zee and R. van de Geijn, "BLIS: A Framework for Rapidly
// Instantiating BLAS Functionality", ACM TOMS 41(3), 2015 (the micro-kernel as the one ISA-specific piece).
#include "tensor/matmul_microkernel.h"

#include "tensor/error.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#define LAB_X86 1
#include <immintrin.h>
#else
#define LAB_X86 0
#endif

namespace lab {

const char* isa_name(Isa isa) {
  switch (isa) {
  case Isa::scalar: return "scalar";
  case Isa::avx2_fma: return "avx2_fma";
  case Isa::avx512f: return "avx512f";
  }
  return "?";
}

// Portable fallback: plain loops over a 4x8 tile of accumulators; the compiler vectorizes the j loop
// with whatever the baseline ISA has (SSE2 on x86-64, NEON on arm64). A is always packed for it:
// with constant strides GCC keeps the tile in registers (with A's strides as variables it spills it).
static void microkernel_4x8_scalar(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b, float* c, int64_t ldc,
                                   bool accumulate) {
  constexpr int MR = 4, NR = 8;
  LAB_ASSERT(rsa == 1 && csa == MR);  // the scalar kernel is always given a packed A (should_pack_a)
  (void)rsa, (void)csa;
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; k++, a += MR, b += NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + acc[i][j];
}

#if LAB_X86
// AVX2 + FMA, 6x16 tile. Registers: 12 ymm accumulators (6 rows x 2 vectors of 8) + 2 ymm for the row of B
// + 1 ymm for the broadcast A value = 15 of the 16 ymm registers. Per k: 2 loads, 6 broadcasts, 12 FMAs.
__attribute__((target("avx2,fma"))) static void microkernel_6x16_avx2(int64_t kc, const float* a, int64_t rsa, int64_t csa,
                                                                      const float* b, float* c, int64_t ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float *a0 = a, *a1 = a + rsa, *a2 = a + 2 * rsa, *a3 = a + 3 * rsa, *a4 = a + 4 * rsa, *a5 = a + 5 * rsa;
  for (int64_t k = 0; k < kc; k++, b += 16) {
    // C[i, :] += A[i, k] * B[k, :] for the 6 rows i: an outer product of a column of A and a row of B.
    const int64_t o = k * csa;
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), ai;
    ai = _mm256_broadcast_ss(a0 + o), c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a1 + o), c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a2 + o), c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a3 + o), c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a4 + o), c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a5 + o), c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);
  }
  __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int i = 0; i < 6; i++) {
    float* ci = c + i * ldc;
    if (accumulate) {
      rows[i][0] = _mm256_add_ps(rows[i][0], _mm256_loadu_ps(ci));
      rows[i][1] = _mm256_add_ps(rows[i][1], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, rows[i][0]);
    _mm256_storeu_ps(ci + 8, rows[i][1]);
  }
}

// AVX-512, 12x32 tile. Registers: 24 zmm accumulators (12 rows x 2 vectors of 16) + 2 zmm for the row of B
// + 1 zmm broadcast = 27 of the 32 zmm registers. Per k: 2 loads, 12 broadcasts, 24 FMAs.
__attribute__((target("avx512f"))) static void microkernel_12x32_avx512(int64_t kc, const float* a, int64_t rsa, int64_t csa,
                                                                        const float* b, float* c, int64_t ldc, bool accumulate) {
  __m512 acc[12][2];
#pragma GCC unroll 12
  for (int i = 0; i < 12; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += csa, b += 32) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
      // C[i, :] += A[i, k] * B[k, :]
      __m512 ai = _mm512_set1_ps(a[i * rsa]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < 12; i++) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(ci));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc[i][0]);
    _mm512_storeu_ps(ci + 16, acc[i][1]);
  }
}
#endif

// Block sizes (floats), for a core with 32 KiB L1d and 512 KiB-1 MiB L2: a KC x NR micro-panel of B
// (16 KiB for 6x16, 24 KiB for 12x32) stays in L1 while MC x KC of A (144 KiB / 144 KiB) streams from
// L2; a KC x NC panel of B (3 / 2.25 MiB) sits in L3. MC is a multiple of MR, NC of NR.
static const MicroKernel kScalar{Isa::scalar, 4, 8, 256, 128, 2048, microkernel_4x8_scalar};
#if LAB_X86
static const MicroKernel kAvx2{Isa::avx2_fma, 6, 16, 256, 144, 3072, microkernel_6x16_avx2};
static const MicroKernel kAvx512{Isa::avx512f, 12, 32, 192, 192, 3072, microkernel_12x32_avx512};
#endif

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
#if LAB_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) isas.push_back(Isa::avx512f);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isas.push_back(Isa::avx2_fma);
#endif
  isas.push_back(Isa::scalar);
  return isas;
}

Isa best_isa() {
  static const Isa best = supported_isas().front();
  return best;
}

const MicroKernel& micro_kernel(Isa isa) {
  static const std::vector<Isa> ok = supported_isas();
  LAB_CHECK(std::find(ok.begin(), ok.end(), isa) != ok.end(), "matmul: this CPU cannot run the {} micro-kernel (HINT: pick one of supported_isas())",
            isa_name(isa));
#if LAB_X86
  if (isa == Isa::avx512f) return kAvx512;
  if (isa == Isa::avx2_fma) return kAvx2;
#endif
  return kScalar;
}

}  // namespace lab
