// Cross-entropy of logits against integer targets, fused: the softmax is never stored.
//
//   loss   = (1 / n) * sum_{rows r with target t_r != ignore_index} (logsumexp(z_r) - z_r[t_r])
//   dz_r   = scale * (softmax(z_r) - onehot(t_r))   for counted rows, 0 for ignored rows
//   n      = the number of counted rows (the loss is NaN when n = 0, as in PyTorch)
//
// logits [N, V] f32/f64, targets [N] i64 (i32 accepted); a target outside [0, V) that is not the
// ignore index is an error naming the row and the value. CPU and CUDA (cuda/cross_entropy.cu).
#pragma once

#include "tensor/tensor.h"

namespace lab {

struct CrossEntropyForward {
  Tensor loss;    // shape [], the dtype of the logits
  int64_t count;  // rows that were counted
};

CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);
// dlogits [N, V] = scale * (softmax(logits) - onehot(targets)), zero rows where ignored.
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index, double scale);

}  // namespace lab
