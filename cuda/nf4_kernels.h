// GPU NF4 kernels of lesson 08, numbered: dequantization from naive to a table in registers with
// 16-byte loads, and y = x W^T fused with the dequantization (GEMV for batch 1, tiled GEMM for
// training batches). CPU references: quant/nf4_kernels_cpu.h, quant/nf4_matmul_cpu.h (and quant/nf4.h).
//
//   dequant v1_naive        cuda::nf4_dequantize (nf4.h): a thread a byte, table in shared memory,
//                           1-byte loads and 4-byte stores
//   dequant v2_smem_vec     a thread 4 bytes (8 values): one 32-bit load of codes, two float4 stores;
//                           table in shared memory
//   dequant v3_reg_lut_vec16  a warp 1024 values a step: one 128-bit load of codes a lane, then 8
//                           rounds of float4 stores, each 512 contiguous bytes (codes passed between
//                           lanes by __shfl_sync); the table in registers: lane l holds NF4[l % 16] and
//                           a value is fetched from the lane its code names (no shared-memory traffic)
//   matmul dequant_then_matmul  nf4_linear_f32 (nf4.h): W^T dequantized into scratch, then matmul_f32
//   matmul fused_gemv       a warp per (row of x, row of W): 8 codes a 32-bit load, dotted with x as
//                           they are decoded, a warp-shuffle sum; W is read once, 0.56 bytes a weight
//   matmul fused_gemm       64 x 64 tiles of y, 4 x 4 per thread in registers; each 16-wide slice of
//                           W's tile is dequantized straight into shared memory, never to global memory
//
// Every dequantization rounds as the CPU (one __fmul_rn per value), so tests ask for the same bits;
// the matmuls get a tolerance. v2 needs a 16-byte aligned output and 4-byte aligned codes, v3 both
// 16-byte aligned (fresh allocations are); otherwise they run v1. n may be odd; blocksize 32..4096.
// Not here: quantization and double quantization (nf4.h), LoRA (lora_fused.h).
#pragma once

#include "cuda/nf4.h"

#include <cstdint>
#include <vector>

namespace lab::cuda {

void nf4_dequant_v1_naive(float* out, const NF4Weight& w, const NF4Table& table);  // = nf4_dequantize
void nf4_dequant_v2_smem_vec(float* out, const NF4Weight& w, const NF4Table& table);
void nf4_dequant_v3_reg_lut_vec16(float* out, const NF4Weight& w, const NF4Table& table);

struct Nf4DequantGpuVersion {
  const char* name;
  const char* idea;
  void (*fn)(float* out, const NF4Weight& w, const NF4Table& table);
};
const std::vector<Nf4DequantGpuVersion>& nf4_dequant_gpu_versions();  // lesson order; the last is the fastest

// y [M, N] (overwritten) = x [M, K] W^T, W [N, K] = the NF4 weight w (w.n == N K). Device pointers.
// scratch: K N floats for dequant_then_matmul, unused (may be null) by the fused kernels.
void nf4_matmul_dequant_then_matmul(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, float* scratch,
                                    const NF4Table& table);
void nf4_gemv_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, const NF4Table& table);
void nf4_gemm_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, const NF4Table& table);

struct Nf4MatmulGpuVersion {
  const char* name;
  const char* idea;
  void (*fn)(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, float* scratch, const NF4Table& table);
};
const std::vector<Nf4MatmulGpuVersion>& nf4_matmul_gpu_versions();

}  // namespace lab::cuda
