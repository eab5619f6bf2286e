// The in-register NF4 decode shared by the CPU kernels (nf4_kernels_cpu.cpp, nf4_matmul_cpu.cpp):
// 8 packed bytes -> 16 table indices in element order -> 16 floats looked up in SIMD registers.
//
//   nibbles: bytes hi0, lo0, hi1, lo1, ... (element 2j is the high nibble of byte j), by widening each
//   byte to 16 bits, shifting and masking, and interleaving the two halves back into bytes.
//   AVX-512: one vpermps (_mm512_permutexvar_ps) over the 16-entry table held in one zmm register.
//   AVX2:    vpermps on each 8-float half of the table (the index's low 3 bits), then a blend on bit 3.
//
// Each function is compiled for its ISA (__attribute__((target))), so this header may be included
// anywhere; call a function only where lab::supported_isas() lists its ISA. Included by .cpp files only.
#pragma once

#include "quant/nf4.h"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#define LAB_NF4_X86 1
#include <immintrin.h>
#else
#define LAB_NF4_X86 0
#endif

namespace lab::quant::simd {

// The value at flattened index i: its nibble, the table, its block's absmax (the scalar edge of every run).
inline float nf4_value_at(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t i) {
  const uint8_t byte = packed[i >> 1];
  return nf4_table()[(i & 1) ? byte & 0x0f : byte >> 4] * absmax[i / blocksize];
}

#if LAB_NF4_X86
// GCC 12's avx512fintrin.h starts some intrinsics from a deliberately undefined register ("__Y = __Y"),
// which -Wmaybe-uninitialized reports once they are inlined: a false alarm.
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// 8 bytes at p -> 16 indices (one a byte) in element order
__attribute__((target("avx2"))) inline __m128i nibbles16(const uint8_t* p) {
  const __m128i w = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));  // 8 x u16, each a byte
  const __m128i hi = _mm_srli_epi16(w, 4), lo = _mm_and_si128(w, _mm_set1_epi16(0x0f));
  return _mm_or_si128(hi, _mm_slli_epi16(lo, 8));  // little endian: the high nibble lands in the first byte
}

// table[idx] for 8 indices in 0..15: the low 3 bits pick within each half, bit 3 (moved to the sign) picks the half
__attribute__((target("avx2"))) inline __m256 lookup8_avx2(__m256i idx, __m256 lut_lo, __m256 lut_hi) {
  const __m256 lo = _mm256_permutevar8x32_ps(lut_lo, idx), hi = _mm256_permutevar8x32_ps(lut_hi, idx);
  return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

// NF4[codes] of the 16 values at p (no absmax): two ymm of 8
__attribute__((target("avx2"))) inline void lookup16_avx2(const uint8_t* p, __m256 lut_lo, __m256 lut_hi, __m256* first8, __m256* last8) {
  const __m128i idx = nibbles16(p);
  *first8 = lookup8_avx2(_mm256_cvtepu8_epi32(idx), lut_lo, lut_hi);
  *last8 = lookup8_avx2(_mm256_cvtepu8_epi32(_mm_srli_si128(idx, 8)), lut_lo, lut_hi);
}

// NF4[codes] of the 16 values at p (no absmax): one zmm
__attribute__((target("avx512f"))) inline __m512 lookup16_avx512(const uint8_t* p, __m512 lut) {
  return _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(nibbles16(p)), lut);
}

#pragma GCC diagnostic pop
#endif

}  // namespace lab::quant::simd
