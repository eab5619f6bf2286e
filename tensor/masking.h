// masked_fill and concatenation: the two ops that build a tensor from pieces.
//
//   masked_fill(x, mask, v)[i] = mask[i] ? v : x[i]   mask u8 (0 or not), broadcast to x's shape
//   cat({a, b, ...}, dim)      = the inputs laid end to end along dim (other dims must match)
//
// CPU and CUDA: masked_fill has its kernel in cuda/masking.cu; cat is copies into views of the output.
#pragma once

#include "tensor/tensor.h"

#include <vector>

namespace lab {

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);

}  // namespace lab
