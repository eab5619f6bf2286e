// The 8-bit code of x in a sorted 256-value dynamic map, on the device: bitsandbytes' dQuantize<0>
// (= quantize_2D), a 7-step binary search, then the nearer of the last two pivots by their float32
// midpoint (rounded adds and multiplies, so the GPU picks the CPU's code: quant/double_quant.cpp
// dynamic_code). Used by double quantization (nf4.cu) and the 8-bit optimizers (adamw8bit.cu).
#pragma once

#include <cstdint>

namespace lab::cuda {

__device__ inline uint8_t dynamic_code(const float* code, float x) {
  int pivot = 127, upper_pivot = 255, lower_pivot = 0;
  float lower = -1.0f, upper = 1.0f;
  float val = code[pivot];
  for (int i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lower_pivot = pivot, lower = val, pivot += i;
    } else {
      upper_pivot = pivot, upper = val, pivot -= i;
    }
    val = code[pivot];
  }
  if (upper_pivot == 255) upper = code[upper_pivot];
  if (lower_pivot == 0) lower = code[lower_pivot];
  if (x > val) return uint8_t(x > __fmul_rn(__fadd_rn(upper, val), 0.5f) ? upper_pivot : pivot);
  return uint8_t(x < __fmul_rn(__fadd_rn(lower, val), 0.5f) ? lower_pivot : pivot);
}

}  // namespace lab::cuda
