// LayerNorm over the last dim (Ba, Kiros, Hinton 2016), forward and backward kernels.
//
//   mean = (1/C) sum_c x_c,   rstd = 1 / sqrt((1/C) sum_c (x_c - mean)^2 + eps)   (biased variance, as PyTorch)
//   xhat = (x - mean) * rstd,  y = xhat * weight + bias
// backward, per row, with g = dy * weight:
//   dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat)),  dweight = sum_rows dy * xhat,  dbias = sum_rows dy
//
// x [..., C] f32/f64; weight and bias [C] or undefined (no affine). CPU and CUDA (cuda/layer_norm.cu).
#pragma once

#include "tensor/tensor.h"

namespace lab {

struct LayerNormForward {
  Tensor y;     // like x
  Tensor mean;  // [rows] where rows = numel / C, same dtype
  Tensor rstd;  // [rows]
};

struct LayerNormBackward {
  Tensor dx, dweight, dbias;  // dweight/dbias undefined when weight/bias were
};

LayerNormForward layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
LayerNormBackward layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                      const Tensor& weight, bool has_bias);

}  // namespace lab
