// NF4: 4-bit NormalFloat (QLoRA, Dettmers et al. 2023, section 3), in bitsandbytes' exact layout.
//
//   quantize    absmax_b = max |x| over block b;   code_i = nearest NF4 level to x_i * (1 / absmax_b)
//   dequantize  x_i ~ NF4[code_i] * absmax_b
//
// Blocks run over the flattened row-major tensor (a block may straddle two rows); the default
// block is 64 values, 32..4096 (powers of two) are allowed. Two codes a byte, element 2j in the high
// nibble. The 16 levels are derived from normal quantiles in nf4_table.cpp; double quantization of
// the absmaxes is double_quant.h; the layer is linear4bit.h; files with bitsandbytes' names nf4_io.h.
// Not here: FP4 (fp4.h), int8 (int8.h), the GPU kernels (cuda/nf4.cu, called from nf4.cpp).
#pragma once

#include "cuda/nf4.h"
#include "quant/double_quant.h"
#include "tensor/tensor.h"

#include <array>
#include <cstdint>

namespace lab::quant {

// --- the code book (nf4_table.cpp)
// bitsandbytes' 16 literals (csrc/kernels.cu nf4_dequantization_lut), sorted: code order == value order.
extern const std::array<float, 16> kNF4Published;
// Phi^{-1}(p) in f64: Acklam's rational approximation, then Halley steps on std::erf/erfc.
double normal_quantile(double p);
// torch.linspace(start, end, steps)[i] in float32, as torch computes it (two halves meeting in the middle).
float linspace_f32(float start, float end, int64_t steps, int64_t i);
// bitsandbytes' create_normal_map(offset, use_extra_value=True): 8 positive quantiles, 7 negative,
// an exact 0, each rounded to float32, then divided (in float32) by the largest.
std::array<float, 16> derive_nf4_table(double offset = 0.9677083);
const std::array<float, 16>& nf4_table();          // derive_nf4_table(), computed once
// float32 of the f64 midpoint of neighbouring levels, as bitsandbytes' CPU path has them; its CUDA
// tree's decimal literals differ by one ulp at 4 midpoints that fall exactly between two floats.
const std::array<float, 15>& nf4_thresholds();

// code = number of thresholds strictly below x: nearest level, a tie (x on a midpoint) to the LOWER code.
// NaN compares false everywhere and gives code 0.
inline uint8_t nf4_code(float x) {
  const std::array<float, 15>& t = nf4_thresholds();
  uint8_t code = 0;
  for (float threshold : t) code += x > threshold;
  return code;
}

// --- block sizes
constexpr int64_t kDefaultBlockSize = 64;
// 32, 64, ..., 4096 as bitsandbytes allows; anything else is a lab::Error naming `what`.
void check_blocksize(int64_t blocksize, const char* what);
inline int64_t num_blocks(int64_t n, int64_t blocksize) { return (n + blocksize - 1) / blocksize; }

// --- one block: the scalar reference every other path (tensor, GPU) is held to
// Quantizes len <= blocksize values into (len + 1) / 2 bytes; returns the block's absmax.
// A zero block (absmax 0) uses the reciprocal 0 instead of 1/0, so every value scales to 0 and gets
// code 7 (the exact 0): bytes 0x77, and dequantization gives +0.0. (bitsandbytes' CUDA kernel would
// compute 0 * inf = NaN and write code 0 with the same dequantized value, -0.0 instead of +0.0; its
// pure-PyTorch backend clamps absmax to 1e-38 and writes 0x77 as we do.)
// An odd len pads its last low nibble with the code of 0.0 (7).
float quantize_block_nf4(const float* x, int64_t len, uint8_t* packed);
void dequantize_block_nf4(const uint8_t* packed, float absmax, int64_t len, float* out);

// --- ggml-style block at the default size: what one block of 64 weights costs in memory
struct BlockNF4 {
  float absmax;                          // max |x| over the 64 values
  uint8_t qs[kDefaultBlockSize / 2];     // 64 codes, element 2j in the high nibble of qs[j]
};
static_assert(sizeof(BlockNF4) == 4 + kDefaultBlockSize / 2, "BlockNF4: 36 bytes for 64 weights = 4.5 bits each");

// k values (any k >= 0; the last block may be partial) into ceil(k / 64) blocks, and back.
void quantize_row_nf4_ref(const float* x, BlockNF4* y, int64_t k);
void dequantize_row_nf4(const BlockNF4* x, float* y, int64_t k);

// --- bitsandbytes' split layout: all codes in one array, all absmaxes in another
// x [n] -> packed [(n + 1) / 2], absmax [num_blocks(n, blocksize)]; and back.
void quantize_nf4_ref(const float* x, int64_t n, int64_t blocksize, uint8_t* packed, float* absmax);
void dequantize_nf4_ref(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);

// --- a quantized tensor, with the fields of bitsandbytes' QuantState
struct NF4Tensor {
  Shape shape;                 // of the original tensor
  DType dtype = DType::f32;    // bitsandbytes' "dtype": f32, bf16 or f16 (of the original); dequantize_nf4 returns f32
  int64_t blocksize = kDefaultBlockSize;
  Tensor packed;               // u8 [(numel + 1) / 2]
  Tensor absmax;               // f32 [blocks]; undefined when double quantized
  DoubleQuant nested;          // the absmaxes double quantized (nested.defined() says whether)

  int64_t numel() const { return lab::numel(shape); }
  int64_t blocks() const { return num_blocks(numel(), blocksize); }
  bool double_quantized() const { return nested.defined(); }
  Device device() const { return packed.device(); }
  size_t nbytes() const;               // what the allocator holds: codes + statistics
  double bits_per_parameter() const;   // 8 * nbytes() / numel()
  NF4Tensor to(Device device) const;
};

// x: any floating dtype (converted to f32), CPU or CUDA; the result lives on x's device.
NF4Tensor quantize_nf4(const Tensor& x, int64_t blocksize = kDefaultBlockSize, bool double_quant = false);
// f32 of the original shape, on q's device.
Tensor dequantize_nf4(const NF4Tensor& q);
// The absmax of every block as f32 [blocks] (itself, or the double-quantized ones decoded).
Tensor nf4_absmax(const NF4Tensor& q);

// What the GPU kernels (cuda/nf4.h, cuda/nf4_kernels.h) read: the code table with its midpoints, and
// an NF4Tensor as raw pointers (plain or double quantized; q must be on the GPU for a launch).
cuda::NF4Table nf4_gpu_table();
cuda::NF4Weight nf4_gpu_weight(const NF4Tensor& q);

// y = x W^T with W = dequantize_nf4(w) [out, in], x [..., in] f32 -> y [..., out]. Dequantizes W
// straight into its transpose [in, out] (no copy before the matmul), then lab::matmul; on the GPU
// through cuda::nf4_linear_f32. No gradients here: Linear4bit records them.
Tensor nf4_linear(const Tensor& x, const NF4Tensor& w);
// dx = g W for Linear4bit's backward: g [..., out] -> [..., in].
Tensor nf4_linear_backward_input(const Tensor& g, const NF4Tensor& w);

}  // namespace lab::quant
