// Softmax and log-softmax over one dim, numerically stable (the max is subtracted first):
//   softmax(x)_i     = exp(x_i - m) / sum_j exp(x_j - m),   m = max_j x_j
//   log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m))
// f32 and f64, CPU and CUDA (cuda/softmax.cu). Their backward passes are compositions of
// elementwise ops and sums, written in autograd/ops_nn.cpp.
// causal_softmax is the attention softmax with the future masked out, in one pass, with its own
// backward kernel (autograd/ops_nn.cpp calls it).
#pragma once

#include "tensor/tensor.h"

namespace lab {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// scores [..., Tq, Tk] with Tk >= Tq: query row i sees keys j <= i + (Tk - Tq) (Tq == Tk: the lower
// triangle; Tq < Tk: the last Tq queries of a sequence of Tk, as with a KV cache).
//   y[i, j] = exp(s_ij - m_i) / sum_{visible k} exp(s_ik - m_i),  m_i = max over visible k;  masked y = 0 exactly
// Equal to softmax(masked_fill(scores, future, -inf), -1), without building the mask.
Tensor causal_softmax(const Tensor& scores);
// The gradient of the above: dx = y * (g - sum_j g_j y_j) per row (masked y are 0, so masked dx are 0).
// y [..., Tq, Tk] from causal_softmax, g of the same shape.
Tensor causal_softmax_backward(const Tensor& y, const Tensor& g);

}  // namespace lab
