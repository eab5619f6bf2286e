// The two 16-bit float formats, as plain structs with exact conversions to and from float.
//
//   bf16: 1 sign, 8 exponent, 7 mantissa bits  = the top half of an f32 (same range, less precision)
//   f16:  1 sign, 5 exponent, 10 mantissa bits (IEEE 754 binary16: max 65504, subnormals below 2^-14)
//
// float -> 16 bit rounds to nearest, ties to even, as PyTorch's .to(torch.bfloat16/float16) and
// CUDA's __float2bfloat16 / __float2half do; NaN stays NaN, overflow becomes infinity.
// Host-only on purpose: GPU code uses CUDA's own __nv_bfloat16 / __half, and cuda/copy.cu is
// checked against these functions.
#pragma once

#include <cstdint>
#include <cstring>

namespace lab {

inline uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

struct bf16 {
  uint16_t bits = 0;
  static bf16 from_bits(uint16_t b) { bf16 h; h.bits = b; return h; }
};

struct f16 {
  uint16_t bits = 0;
  static f16 from_bits(uint16_t b) { f16 h; h.bits = b; return h; }
};

inline float to_float(bf16 h) { return bits_float(uint32_t(h.bits) << 16); }

inline bf16 to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16::from_bits(uint16_t((u >> 16) | 0x0040u));  // quiet NaN
  // Round to nearest even: add 0x7fff plus the lowest kept bit, then drop the low 16 bits.
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16::from_bits(uint16_t(u >> 16));
}

inline float to_float(f16 h) {
  uint32_t sign = uint32_t(h.bits & 0x8000u) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1fu;
  uint32_t man = h.bits & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));  // inf / NaN
  if (exp == 0) {
    if (man == 0) return bits_float(sign);                                // +-0
    // Subnormal: value = man * 2^-24, exact in float.
    float v = float(man) * bits_float(0x33800000u);                        // 2^-24
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112u) << 23) | (man << 13));            // rebias 15 -> 127
}

inline f16 to_f16(float f) {
  uint32_t u = float_bits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return f16::from_bits(sign | 0x7e00u);              // NaN
  if (a >= 0x477ff000u) return f16::from_bits(sign | 0x7c00u);             // rounds to >= 65520: inf
  if (a < 0x38800000u) {
    // Below 2^-14: subnormal f16 (or zero). value / 2^-24, rounded to nearest even, is the mantissa.
    // Adding 0.5f (2^-1) puts the wanted integer in the low mantissa bits of a float; float addition
    // rounds to nearest even, which is exactly the rounding we want.
    float v = bits_float(a) + 0.5f;
    return f16::from_bits(uint16_t(sign | uint16_t(float_bits(v) - 0x3f000000u)));
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
  uint32_t r = a + ((15u - 127u) << 23) + 0xfffu + ((a >> 13) & 1u);
  return f16::from_bits(uint16_t(sign | (r >> 13)));
}

}  // namespace lab
