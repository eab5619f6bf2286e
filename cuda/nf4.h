// GPU NF4: blockwise quantize and dequantize, the double-quantization statistics, and the
// dequantize-then-matmul path of Linear4bit. CPU references: quant/nf4.cpp and quant/double_quant.cpp.
//
//   quantize    absmax_b = max |x| over block b,  code = #{thresholds < x * (1 / absmax_b)},  element 2j in the high nibble
//   dequantize  x = NF4[code] * absmax_b,   absmax_b = map[q_b] * absmax2_{b/256} + offset when double quantized
//
// Every rounding step is spelled out (__frcp_rn, __fmul_rn, __fadd_rn: no fused multiply-add), so
// the GPU gives the CPU reference's bits exactly; tests/cuda/test_cuda_nf4.cpp holds it to that.
// Plain functions over device pointers (host pointers only where said); n may be odd.
#pragma once

#include <cstdint>

namespace lab::cuda {

// A code book passed by value to the kernels (kernel parameters live in constant memory).
struct NF4Table { float v[16]; float thresholds[15]; };
struct DynamicMap256 { float v[256]; };

// One NF4 weight of n values, as quant::NF4Tensor holds it on the GPU.
struct NF4Weight {
  const uint8_t* packed = nullptr;   // [(n + 1) / 2]
  int64_t n = 0, blocksize = 64;
  const float* absmax = nullptr;     // [blocks] f32, or null when double quantized:
  const uint8_t* qabsmax = nullptr;  // [blocks] 8-bit codes of absmax - offset
  const float* absmax2 = nullptr;    // [ceil(blocks / blocksize2)]
  float offset = 0;
  int64_t blocksize2 = 256;
  DynamicMap256 map{};               // the 8-bit code book of qabsmax
};

// v1: one warp per block; lanes read neighbouring values, a shuffle tree takes the max, then each
// lane packs pairs. x [n] f32 -> packed [(n + 1) / 2], absmax [ceil(n / blocksize)].
void nf4_quantize(uint8_t* packed, float* absmax, const float* x, int64_t n, int64_t blocksize, const NF4Table& table);
// One thread per packed byte: out [n] f32.
void nf4_dequantize(float* out, const NF4Weight& w, const NF4Table& table);
// W [rows, cols] (n = rows * cols) dequantized into its transpose out [cols, rows], through a
// 32 x 32 tile in shared memory so that both the reads and the writes are coalesced.
void nf4_dequantize_transposed(float* out, const NF4Weight& w, int64_t rows, int64_t cols, const NF4Table& table);

// Double quantization. The offset: f64 sums of each run of 256 values (one thread each), then one
// thread adds those in order and divides: the CPU reference's order exactly. Returns it to the host.
// scratch: ceil(n / 256) + 1 doubles of device memory (the caller's, so the allocator counts it).
float double_quant_offset(const float* absmax, int64_t n, double* scratch);
// codes of (x - offset) / absmax2 with bitsandbytes' binary search; absmax2 [ceil(n / blocksize)].
void dynamic8_quantize(uint8_t* codes, float* absmax2, const float* x, float offset, int64_t n, int64_t blocksize,
                       const DynamicMap256& map);
// out = map[code] * absmax2 + offset
void dynamic8_dequantize(float* out, const uint8_t* codes, const float* absmax2, float offset, int64_t n, int64_t blocksize,
                         const DynamicMap256& map);

// Linear4bit's forward: y [M, out] = x [M, in] W^T, W [out, in] = the NF4 weight. Dequantizes W
// into scratch [in, out] (nf4_dequantize_transposed), then cuda::matmul_f32. scratch: in * out floats.
void nf4_linear_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t out_features, int64_t in_features,
                    float* scratch, const NF4Table& table);

}  // namespace lab::cuda
