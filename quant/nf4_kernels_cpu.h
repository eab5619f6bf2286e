// NF4 dequantization on the CPU, one numbered version per optimization step (lesson 08):
//
//   out_i = NF4[code_i] * absmax_{i / blocksize},   code_2j = packed_j >> 4,  code_2j+1 = packed_j & 15
//
//   v1_scalar      the reference codec (quant/nf4.cpp dequantize_block_nf4), block by block, one thread:
//                  a shift or mask, a table load and a multiply per value
//   v2_byte_lut    a 256-entry table of float pairs: one load of the byte gives both of its values
//   v3_avx2        16 values at a time: 8 bytes -> 16 nibble indices -> _mm256_permutevar8x32_ps on
//                  the two 8-float halves of the table, a blend on bit 3 of the index, one multiply
//   v3_avx512      the same with one _mm512_permutexvar_ps over the whole 16-entry table in a register
//   v4_simd_omp    the best v3 this CPU runs (chosen at run time), OpenMP over blocks
//
// Every version gives the reference's bits (one multiply, same operands), so the tests ask for
// equality. The SIMD paths work on runs of 16 values that start at a multiple of 16: such a run
// never straddles an NF4 block (blocks are 32..4096 values) and starts on a byte. One binary, no
// -march: each SIMD kernel is compiled for its ISA (__attribute__((target))) and picked with
// lab::supported_isas() (tensor/matmul_microkernel.h). Not here: quantization (nf4.cpp), the fused
// dequantize-and-multiply (nf4_matmul_cpu.h), the GPU versions (cuda/nf4_kernels.h).
#pragma once

#include "tensor/matmul_microkernel.h"

#include <cstdint>
#include <vector>

namespace lab::quant {

// out [n] from packed [(n + 1) / 2] and absmax [ceil(n / blocksize)], blocksize a power of two in 32..4096.
using Nf4DequantFn = void (*)(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);

void nf4_dequant_v1_scalar(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);
void nf4_dequant_v2_byte_lut(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);
void nf4_dequant_v3_avx2(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);    // needs AVX2
void nf4_dequant_v3_avx512(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);  // needs AVX-512F
void nf4_dequant_v4_simd_omp(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out);

// The fastest version this CPU runs (v4).
inline void nf4_dequant_fastest(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  nf4_dequant_v4_simd_omp(packed, absmax, n, blocksize, out);
}

// Values [start, start + len) of the flattened NF4 tensor into out [len]: any start (even an odd
// one, mid-byte), SIMD on the aligned runs of 16, one thread. The fused matmuls decode rows of W
// with it (nf4_matmul_cpu.cpp).
void nf4_decode_run(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start, int64_t len, float* out,
                    Isa isa = best_isa());

// The versions in lesson order, those this CPU runs only: what lesson 08 and bench/bench_nf4_kernels.cpp loop over.
struct Nf4DequantVersion {
  const char* name;  // "v3_avx512"
  const char* idea;  // what this step adds, one line
  Nf4DequantFn fn;
};
const std::vector<Nf4DequantVersion>& nf4_dequant_versions();

}  // namespace lab::quant
