// The arithmetic of int8 quantization, written once for both devices: the CPU codec in quant/int8.cpp
// and the kernels in cuda/int8.cu call these functions, so the two cannot disagree on a formula and
// the GPU tests can ask for the same bits. Plain C++ when not compiled by nvcc.
//
// Rounding is to nearest, ties to even: __float2int_rn on the GPU; on the CPU what std::rint does in
// the default rounding mode (FE_TONEAREST), computed without a branch (round_clamped). Every product
// is rounded once (__fmul_rn and friends on the GPU, so nvcc cannot fuse them into an FMA; the CPU
// build, -std=c++20 without -march, contracts nothing).
// Not here: loops, groups, devices (quant/int8.cpp, cuda/int8.cu). Next: quant/int8.h.
#pragma once

#include <cmath>
#include <cstdint>

#ifndef LAB_HOST_DEVICE
#ifdef __CUDACC__
#define LAB_HOST_DEVICE __host__ __device__
#else
#define LAB_HOST_DEVICE
#endif
#endif

namespace lab::cuda::int8 {

LAB_HOST_DEVICE inline float mul_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
LAB_HOST_DEVICE inline float div_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
LAB_HOST_DEVICE inline float add_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// v clamped to [lo, hi] (a NaN becomes lo, the same on both devices), then rounded half to even.
// On the CPU, adding and subtracting 1.5 * 2^23 rounds in the current rounding mode (to nearest,
// ties to even), exactly as std::rint does for |v| < 2^22, without rint's branch on |v|: half the time.
LAB_HOST_DEVICE inline int round_clamped(float v, float lo, float hi) {
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
#ifdef __CUDA_ARCH__
  return __float2int_rn(v);
#else
  return int((v + 12582912.0f) - 12582912.0f);
#endif
}

// |x| folded into a running maximum; a NaN is skipped. (fabs clears the sign bit without a branch:
// a branch on the sign of random data is mispredicted half the time and costs the CPU codec 2x.)
LAB_HOST_DEVICE inline float absmax_step(float m, float x) {
  const float a = std::fabs(x);
  return a > m ? a : m;
}

// --- symmetric (absmax): x ~ q * scale,  q = round(x * 127 / absmax) in [-127, 127],  scale = absmax / 127
// A zero group (absmax 0) gets scale 0 and codes 0, so it comes back as exact zeros.
LAB_HOST_DEVICE inline float absmax_inverse(float absmax) { return absmax > 0.0f ? div_rn(127.0f, absmax) : 0.0f; }
LAB_HOST_DEVICE inline float absmax_scale(float absmax) { return div_rn(absmax, 127.0f); }
LAB_HOST_DEVICE inline int8_t quantize_absmax(float x, float inverse) { return int8_t(round_clamped(mul_rn(x, inverse), -127.0f, 127.0f)); }

// --- asymmetric (zero-point): [lo, hi] = [min(x, 0), max(x, 0)] onto the 256 codes -128..127:
//   scale = (hi - lo) / 255,  zero_point = -128 - round(lo / scale),  q = round(x / scale) + zero_point,  x ~ (q - zero_point) * scale
// The range always holds 0, so 0 is exactly representable (it is the code zero_point).
struct ZeroPointParams {
  float scale;    // one step of the code
  float inverse;  // 255 / (hi - lo), what x is multiplied by; 0 for an all-zero group
  int zero_point;  // in [-128, 127]
};
LAB_HOST_DEVICE inline ZeroPointParams zero_point_params(float lo, float hi) {
  const float range = add_rn(hi, -lo);
  if (!(range > 0.0f)) return {0.0f, 0.0f, 0};  // an all-zero group: codes 0, scale 0
  const float inverse = div_rn(255.0f, range);
  return {div_rn(range, 255.0f), inverse, -128 - round_clamped(mul_rn(lo, inverse), -255.0f, 0.0f)};
}
LAB_HOST_DEVICE inline int8_t quantize_zero_point(float x, const ZeroPointParams& p) {
  const int q = round_clamped(mul_rn(x, p.inverse), -255.0f, 255.0f) + p.zero_point;
  return int8_t(q < -128 ? -128 : q > 127 ? 127 : q);
}

// x = (q - zero_point) * scale (zero_point 0 for absmax)
LAB_HOST_DEVICE inline float dequantize(int8_t q, int zero_point, float scale) { return mul_rn(float(int(q) - zero_point), scale); }

// LLM.int8(): out[i, j] = C[i, j] * absmax_x[i] * absmax_w[j] / 127^2 + bias[j]   (C = Xq Wq^T, int32)
LAB_HOST_DEVICE inline float dequantize_matmul_value(int32_t c, float absmax_row, float absmax_col, float bias) {
  return add_rn(div_rn(mul_rn(mul_rn(float(c), absmax_row), absmax_col), 16129.0f), bias);
}

}  // namespace lab::cuda::int8
