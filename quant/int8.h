// int8 quantization: symmetric (absmax) and asymmetric (zero-point), per tensor, per row, per block.
//
//   absmax      x ~ q * scale,                 scale = max|x| / 127,      q in [-127, 127]
//   zero-point  x ~ (q - zero_point) * scale,  scale = (hi - lo) / 255,   q in [-128, 127], [lo, hi] = [min(x,0), max(x,0)]
//
// A group is a run of consecutive elements (row-major) that shares one scale: the whole tensor, one
// row (the last dim), or a block of block_size elements inside a row. Rounding is half to even
// (std::rint's rule in the default rounding mode on the CPU, __float2int_rn on the GPU: cuda/int8_ops.h).
// Codes and scales are ordinary tensors from the allocator, so memory_stats() shows what they save.
// Not here: LLM.int8()'s matmul and outliers (int8_matmul.h), the layer (linear8bit.h), NF4 (nf4.h).
#pragma once

#include "tensor/tensor.h"

#include <cstdint>

namespace lab::quant {

enum class Int8Scheme { absmax, zero_point };
enum class Granularity { per_tensor, per_row, per_block };
const char* scheme_name(Int8Scheme s);       // "absmax", "zero-point"
const char* granularity_name(Granularity g);  // "per-tensor", "per-row", "per-block"

// A quantized tensor: the codes, and one scale (and zero point) per group of group_size elements.
struct Int8Tensor {
  Tensor q;           // i8, the shape of the original
  Tensor scale;       // f32 [groups]
  Tensor zero_point;  // i8 [groups] for zero-point; undefined for absmax (zero point 0)
  Int8Scheme scheme = Int8Scheme::absmax;
  Granularity granularity = Granularity::per_tensor;
  int64_t group_size = 0;  // numel, the last dim, or the block size
  size_t nbytes() const;   // codes + scales + zero points: the bytes the allocator holds for it
};

// x: a floating-point tensor (converted to f32 first), CPU or CUDA. per_row and per_block need at
// least one dim; block_size must be positive and divide the last dim, so that a block never
// straddles two rows (as ggml's Q8_0 asks of its rows). Inputs are expected to be finite.
Int8Tensor quantize_int8(const Tensor& x, Int8Scheme scheme, Granularity granularity, int64_t block_size = 64);
Tensor dequantize(const Int8Tensor& t);  // f32, the shape and device of the original

// How far a reconstruction is from the original, computed in f64 on the CPU.
struct QuantError {
  double max_abs = 0;        // max |x - x'|
  double rmse = 0;           // sqrt(mean (x - x')^2)
  double rel_frobenius = 0;  // ||x - x'||_F / ||x||_F (0 when both are zero)
};
QuantError quant_error(const Tensor& original, const Tensor& reconstructed);

// The scalar reference codec of one group of n values (ggml's *_ref functions in spirit): what the
// CPU path runs for every group, and what the tests and GPU kernels are held to.
float quantize_absmax_ref(const float* x, int64_t n, int8_t* q);  // writes q, returns absmax (scale = absmax / 127)
void quantize_zero_point_ref(const float* x, int64_t n, int8_t* q, float* scale, int8_t* zero_point);
void dequantize_ref(const int8_t* q, int64_t n, float scale, int zero_point, float* out);

}  // namespace lab::quant
