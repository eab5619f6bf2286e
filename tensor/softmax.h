// Softmax and log-softmax over one dim, numerically stable (the max is subtracted first):
//   softmax(x)_i     = exp(x_i - m) / sum_j exp(x_j - m),   m = max_j x_j
//   log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m))
// f32 and f64, CPU and CUDA (cuda/softmax.cu). Their backward passes are compositions of
// elementwise ops and sums, written in autograd/ops_nn.cpp.
#pragma once

#include "tensor/tensor.h"

namespace lab {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace lab
