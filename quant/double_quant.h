// Double quantization (QLoRA section 3): the f32 absmax of every NF4 block, quantized once more.
//
//   offset = mean(absmax);   c_i = 8-bit code of (absmax_i - offset) / absmax2_j,  absmax2_j = max |absmax_i - offset| over 256 of them
//   absmax_i ~ map[c_i] * absmax2_j + offset            (float32, in that order, as bitsandbytes)
//
// The 8-bit code book is bitsandbytes' signed dynamic map (create_dynamic_map(signed=True)), not an
// FP8 format: 127 negative values, 0, 127 positive, and 1.0, spread over 7 decades. Cost per
// weight at block 64: 8/64 + 32/(64*256) = 0.127 bits instead of 32/64 = 0.5.
// Not here: the NF4 codec itself (nf4.h); bitsandbytes' 8-bit optimizers, which use the same map.
#pragma once

#include "tensor/tensor.h"

#include <array>
#include <cstdint>

namespace lab::quant {

using DynamicMap = std::array<float, 256>;
constexpr int64_t kNestedBlockSize = 256;  // bitsandbytes' second-level block (its gemm_4bit requires 256)

// bitsandbytes' create_dynamic_map(signed, max_exponent_bits, total_bits), float32 linspace and all.
DynamicMap create_dynamic_map(bool is_signed = true, int max_exponent_bits = 7, int total_bits = 8);
const DynamicMap& dynamic_map_signed();  // create_dynamic_map(true), computed once

// bitsandbytes' dQuantize<0>: a 7-step binary search over the sorted map, then the nearer of the
// two last pivots by their float32 midpoint. NaN gives code 0.
uint8_t dynamic_code(const DynamicMap& map, float x);

// Scalar reference of 8-bit blockwise quantization with a map: per block, absmax = max |x|, codes
// of x * (1 / absmax) (a zero block scales by 0 and gets the code of 0, as in nf4.h).
void quantize_dynamic8_ref(const float* x, int64_t n, int64_t blocksize, const DynamicMap& map, uint8_t* codes, float* absmax);
// out_i = map[codes_i] * absmax_block + offset (offset 0 for plain 8-bit blockwise).
void dequantize_dynamic8_ref(const uint8_t* codes, const float* absmax, int64_t n, int64_t blocksize, const DynamicMap& map, float offset,
                             float* out);
// The mean as the CPU and GPU both compute it, so they agree to the bit: f64 sums of each run of
// 256 values in order, those sums added in order, divided by n, rounded to float.
float double_quant_offset_ref(const float* absmax, int64_t n);

// The second level of an NF4Tensor (bitsandbytes' nested_* fields).
struct DoubleQuant {
  Tensor codes;     // u8 [n]: the quantized absmaxes (bitsandbytes stores them as "absmax")
  Tensor absmax2;   // f32 [ceil(n / 256)]: "nested_absmax"
  float offset = 0; // "nested_offset": the mean that was subtracted
  int64_t blocksize = kNestedBlockSize;  // "nested_blocksize"
  DynamicMap map{};  // "nested_quant_map" (the signed dynamic map unless loaded from a file)
  bool defined() const { return codes.defined(); }
};

// absmax: f32 [n] on the CPU or a GPU; the result lives on the same device.
DoubleQuant double_quantize(const Tensor& absmax);
Tensor double_dequantize(const DoubleQuant& dq);  // f32 [n]

}  // namespace lab::quant
