// Batched matrix multiply with torch.matmul's rules:
//   [M,K] @ [K,N] -> [M,N]; a 1-D operand is a row (left) or a column (right) vector, and that
//   dim is dropped from the result; batch dims (all but the last two) broadcast like NumPy:
//   [B,1,M,K] @ [H,K,N] -> [B,H,M,N].
// f32 and f64, CPU or CUDA; both operands on the same device with the same dtype. f32 on the CPU
// reads transposed and strided views in place (no copy); the other paths copy them contiguous first.
// No gradients here (see autograd/). Kernels: matmul_cpu.h and cuda/matmul.h.
#pragma once

#include "tensor/tensor.h"

namespace lab {

Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace lab
