// y = x W^T with W [N, K] held in NF4, on the CPU: dequantize-then-multiply against two fused kernels.
//
//   y[m, j] = sum_k x[m, k] * NF4[code(j K + k)] * absmax_{(j K + k) / blocksize}     x [M, K], y [M, N]
//
//   dequant_then_matmul  nf4_dequant_fastest into an f32 W [N, K] (a buffer the size of the f32 weight),
//                        then the packed SIMD matmul (matmul_v5) on W^T: the baseline, what nf4_linear does
//   fused_gemv           batch 1 (decode: one row of x): each row of W is decoded 16 values at a time
//                        into a register and multiplied into x straight away; OpenMP over rows of W.
//                        Memory-bound: it reads 0.56 bytes a weight instead of writing and reading 8
//   fused_gemm_packed    training batches: the packed matmul's five loops with B = W^T decoded from the
//                        codes while it is packed into micro-panels (packed_gemm_cpu.h), so the f32 W
//                        never exists whole; each panel is decoded once per thread's part of the rows of x
//
// Blocks run over the flattened W (a block may straddle rows, and an odd K puts a row's first value in a
// low nibble): the kernels decode by flattened index (nf4_decode_run). absmax is f32 per block: for a
// double-quantized weight, decode the absmaxes first (quant::nf4_absmax; 1/64 of the work).
// Not here: the dequantization versions (nf4_kernels_cpu.h), the GPU (cuda/nf4_kernels.h), LoRA (lora_fused.h).
#pragma once

#include "quant/nf4.h"
#include "tensor/matmul_microkernel.h"

#include <cstdint>
#include <vector>

namespace lab::quant {

// A weight W [N, K] as raw NF4 arrays: packed [(N K + 1) / 2], absmax [ceil(N K / blocksize)] f32.
struct Nf4MatrixRef {
  const uint8_t* packed;
  const float* absmax;
  int64_t blocksize;
  int64_t N, K;
};

// y [M, N] (overwritten) = x [M, K] W^T. Any M, N, K >= 0.
void nf4_matmul_dequant_then_matmul(const float* x, int64_t M, Nf4MatrixRef w, float* y);
void nf4_matmul_fused_gemv(const float* x, int64_t M, Nf4MatrixRef w, float* y, Isa isa = best_isa());
void nf4_matmul_fused_gemm(const float* x, int64_t M, Nf4MatrixRef w, float* y, Isa isa = best_isa());

// The versions in lesson order: what lesson 08 and bench/bench_nf4_kernels.cpp loop over.
using Nf4MatmulFn = void (*)(const float* x, int64_t M, Nf4MatrixRef w, float* y);
struct Nf4MatmulVersion {
  const char* name;
  const char* idea;
  Nf4MatmulFn fn;
};
const std::vector<Nf4MatmulVersion>& nf4_matmul_versions();

// Tensors: x [..., K] f32 (CPU), w an NF4 [N, K] (plain or double quantized) -> [..., N]; fused_gemv
// for up to 4 rows of x, fused_gemm above. No gradients (Linear4bit records those).
Tensor nf4_matmul_fused(const Tensor& x, const NF4Tensor& w);

}  // namespace lab::quant
