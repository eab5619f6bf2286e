// GPU cross-entropy of logits [N, V] against int64 targets [N], in two pieces that tensor/loss.cpp
// (the CPU reference and the math) puts together with the kernels it already has:
//   forward:  per-row losses here, then their deterministic sum (cuda/reduce.cu) and the mean
//   backward: softmax (cuda/softmax.cu), then the per-element rule here, in place
// Targets have been checked on the host: each is in [0, V) or equals ignore_index.
#pragma once

#include <cstdint>

namespace lab::cuda {

// row_loss[r] = logsumexp(logits[r, :]) - logits[r, targets[r]], or 0 where targets[r] == ignore_index.
void cross_entropy_rows_f32(float* row_loss, const float* logits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index);
void cross_entropy_rows_f64(double* row_loss, const double* logits, const int64_t* targets, int64_t N, int64_t V,
                            int64_t ignore_index);

// dlogits holds softmax(logits) [N, V] and becomes scale * (softmax - onehot(targets)), 0 in ignored rows.
void cross_entropy_backward_f32(float* dlogits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index, float scale);
void cross_entropy_backward_f64(double* dlogits, const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index, double scale);

}  // namespace lab::cuda
