// The LoRA forward y = x W^T + s (x A^T) B^T on the CPU: three separate matmuls against one fused
// pass, with an f32 base W or an NF4 one (QLoRA). Lesson 08's last family; nn/lora.h is the layer.
//
//   x [M, K], W [N, K], A [r, K], B [N, r], s = scaling, y [M, N]
//   unfused  y = x W^T;  T = x A^T;  U = T B^T;  y += s U        three matmuls and a pass over y,
//            as LoRALinear's autograd ops run them (U is a second [M, N] array, written then read)
//   fused    T' = s (x A^T)  (a small [M, r] matmul, computed once), then ONE packed matmul over
//            K + r:   y = [x | T'] [W^T ; B^T]
//
// Why the concatenation: y = x W^T + T' B^T is exactly the product of x and T' side by side with
// W^T stacked on B^T, so the packed matmul's loops run over r more values of k, and the micro-kernel
// adds the rank-r update into the same registers that hold the tile of x W^T. No second [M, N]
// array, no second pass over y, no extra tile loads or stores: the LoRA branch costs the r / K more
// multiply-adds it must do, plus x A^T. (The other option, a separate rank-r update of each finished
// tile, would reload every tile of y from cache once more.) Nothing is copied to concatenate: the
// micro-kernel reads x and T' in place as two pieces of one A, and B's panels are packed from W or
// from B by the index k (packed_gemm_cpu.h). With an NF4 base,
// W^T's part of each panel is decoded from the codes as it is packed (nf4_matmul_cpu.h).
// No dropout here (it is the identity in eval; training uses LoRALinear's ops), no gradients.
// Not here: the GPU (cuda/lora_fused.h), the layer and its backward (nn/lora.h).
#pragma once

#include "quant/nf4_matmul_cpu.h"
#include "tensor/matmul_microkernel.h"

#include <cstdint>
#include <vector>

namespace lab::quant {

// The adapter: A [r, K], B [N, r] row-major, and the scaling alpha / r (or alpha / sqrt(r)).
struct LoraRef {
  const float* A;
  const float* B;
  int64_t r;
  float scaling;
};

// y [M, N] (overwritten) = x [M, K] W^T + s (x A^T) B^T with W f32 [N, K]. Any sizes >= 0 (r >= 1).
void lora_forward_unfused(const float* x, int64_t M, const float* W, int64_t N, int64_t K, LoraRef lora, float* y);
void lora_forward_fused(const float* x, int64_t M, const float* W, int64_t N, int64_t K, LoraRef lora, float* y, Isa isa = best_isa());
// The same with W in NF4 (w.N, w.K): unfused dequantizes W first (nf4_matmul_dequant_then_matmul).
void qlora_forward_unfused(const float* x, int64_t M, Nf4MatrixRef w, LoraRef lora, float* y);
void qlora_forward_fused(const float* x, int64_t M, Nf4MatrixRef w, LoraRef lora, float* y, Isa isa = best_isa());

// The versions, for lesson 08 and bench/bench_lora.cpp's kernel table.
struct LoraForwardVersion {
  const char* name;
  const char* idea;
  void (*f32_base)(const float* x, int64_t M, const float* W, int64_t N, int64_t K, LoraRef lora, float* y);
  void (*nf4_base)(const float* x, int64_t M, Nf4MatrixRef w, LoraRef lora, float* y);
};
const std::vector<LoraForwardVersion>& lora_forward_versions();

}  // namespace lab::quant
