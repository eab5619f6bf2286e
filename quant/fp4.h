// FP4 as bitsandbytes defines it (quant_type "fp4"): a sign bit and an E2M1 magnitude, for comparing
// with NF4 at the same block size. Same blocks, absmax and packing as nf4.h; only the 16 levels differ.
//
//   code = sign << 3 | m,   value = sign ? -L[m] : L[m],   L = {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12
//
// The magnitudes 2, 3, 4, 6, 8, 12 are 2^e (1 + f/2) for e = 1..3, f = 0..1 (E2M1), plus 0 and a tiny
// 0.0625: spaced for a log-uniform spread, not for the bell of a normal weight (why NF4 wins there).
// Quantization is the CUDA kernel's tree (dQuantizeFP4), whose threshold 0.583333 is not quite 7/12.
// Not here: a GPU FP4 kernel (FP4 only serves as a yardstick in lesson 03 and the tests).
#pragma once

#include <array>
#include <cstdint>

namespace lab::quant {

const std::array<float, 16>& fp4_table();  // value of each code, computed as torch does: v / 12 in float32
uint8_t fp4_code(float x);                  // x already divided by the block's absmax
// Block codec and split layout, as quantize_block_nf4 / quantize_nf4_ref (a zero block scales by 0).
float quantize_block_fp4(const float* x, int64_t len, uint8_t* packed);
void quantize_fp4_ref(const float* x, int64_t n, int64_t blocksize, uint8_t* packed, float* absmax);
void dequantize_fp4_ref(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);

}  // namespace lab::quant
