// The LoRA forward y = x W^T + s (x A^T) B^T on the GPU: three separate matmuls against one fused
// kernel, with an f32 base W or an NF4 one (QLoRA). CPU reference: quant/lora_fused.h.
//
//   x [M, K], W [N, K], A [r, K], B [N, r], s = scaling, y [M, N]; device pointers, row-major
//   unfused  y = x W^T; T = x A^T; U = T B^T; y += s U: matmul_f32 three times (it takes a contiguous
//            right operand, so the caller passes W^T [K, N], A^T [K, r], B^T [r, N]) and an
//            elementwise pass; the NF4 base dequantizes W^T into scratch first (nf4_linear_f32)
//   fused    T' = s (x A^T) [M, r] (a thread an entry), then ONE tiled kernel (cuda/tile_gemm.cuh)
//            for x W^T whose epilogue adds sum_q T'[m, q] B[n, q] to each output while it is still in a
//            register, before the only store; W (f32 or NF4, dequantized into shared memory) and B
//            are read in their [N, K] and [N, r] layouts, as nn::Linear keeps them
//
// Why the epilogue and not the CPU's concatenation over K + r (quant/lora_fused.h): on the GPU each
// output already stays in a register for the whole K loop, so adding r products at the end is the
// same saving with no change to the tiled loop: no U array, no second pass over y, one launch for
// the [M, N] work instead of three. Both versions read x A^T's inputs once more than the base alone.
// No dropout (eval), no gradients.
#pragma once

#include "cuda/nf4.h"

#include <cstdint>

namespace lab::cuda {

struct LoraGpu {  // the adapter in nn::Linear's layout, for the fused kernels
  const float* A;  // [r, K]
  const float* B;  // [N, r]
  int64_t r;
  float scaling;
};

struct LoraGpuTransposed {  // the adapter transposed, for matmul_f32 (the unfused version)
  const float* At;  // [K, r]
  const float* Bt;  // [r, N]
  int64_t r;
  float scaling;
};

// t [M, r] = s x A^T
void lora_scaled_xa(float* t, const float* x, int64_t M, int64_t K, const LoraGpu& lora);

// scratch_t: M r floats; scratch_u: M N floats; scratch_w: K N floats (NF4 base only).
void lora_forward_unfused_f32(float* y, const float* x, int64_t M, const float* Wt, int64_t N, int64_t K, const LoraGpuTransposed& lora,
                              float* scratch_t, float* scratch_u);
void qlora_forward_unfused_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K,
                               const LoraGpuTransposed& lora, float* scratch_t, float* scratch_u, float* scratch_w, const NF4Table& table);
// scratch_t: M r floats.
void lora_forward_fused_f32(float* y, const float* x, int64_t M, const float* W, int64_t N, int64_t K, const LoraGpu& lora, float* scratch_t);
void qlora_forward_fused_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t N, int64_t K, const LoraGpu& lora,
                             float* scratch_t, const NF4Table& table);

}  // namespace lab::cuda
