// Device helpers the fused NF4 kernels share (cuda/nf4_kernels.cu, cuda/lora_fused.cu): the code
// books in shared memory, a block's absmax (plain or double quantized), the value at a flattened
// index. The same arithmetic as cuda/nf4.cu's, rounding for rounding (__fmul_rn, __fadd_rn), so a
// decoded weight has the CPU reference's bits. Included by .cu files only.
#pragma once

#include "cuda/nf4.h"

#include <cstdint>

namespace lab::cuda::nf4dev {

// The 16 NF4 levels and, for a double-quantized weight, the 256-entry map of its absmax codes.
struct Books {
  float lut[16];
  float map[256];
};

// Copied by the whole block; call before any use, from every thread (it syncs).
__device__ inline void load_books(Books& s, const NF4Table& table, const NF4Weight& w) {
  for (int i = threadIdx.y * blockDim.x + threadIdx.x; i < 256; i += blockDim.x * blockDim.y) {
    if (i < 16) s.lut[i] = table.v[i];
    if (w.qabsmax) s.map[i] = w.map.v[i];
  }
  __syncthreads();
}

// absmax of NF4 block b: stored, or map[q_b] * absmax2_{b / blocksize2} + offset
__device__ inline float block_absmax(const NF4Weight& w, const float* map, int64_t b) {
  if (w.absmax) return w.absmax[b];
  return __fadd_rn(__fmul_rn(map[w.qabsmax[b]], w.absmax2[b / w.blocksize2]), w.offset);
}

// The 4-bit code of flattened element i: element 2j is the high nibble of byte j
__device__ inline int code_at(const uint8_t* packed, int64_t i) {
  const uint8_t byte = packed[i >> 1];
  return (i & 1) ? byte & 0x0f : byte >> 4;
}

// W(i) = NF4[code_i] * absmax_{i / blocksize}
__device__ inline float value_at(const NF4Weight& w, const Books& books, int64_t i) {
  return __fmul_rn(books.lut[code_at(w.packed, i)], block_absmax(w, books.map, i / w.blocksize));
}

}  // namespace lab::cuda::nf4dev
