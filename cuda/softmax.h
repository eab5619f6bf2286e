// GPU softmax and log-softmax over the middle dim of a contiguous [outer, n, inner] tensor: a block
// per row when inner == 1, a thread per (o, i) otherwise (cuda/softmax.cu). CPU reference and the
// math: tensor/softmax.cpp, which splits the tensor this way. Backward passes: autograd/ops_nn.cpp.
// causal_softmax: a warp per row of contiguous [rows, tk] scores, forward and backward.
#pragma once

#include <cstdint>

namespace lab::cuda {

// out[o, :, i] = softmax (or, with log_softmax set, log_softmax) of x[o, :, i]; n >= 1.
void softmax_f32(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax);
void softmax_f64(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax);

// Rows of tk scores, row r being query r % tq (tk >= tq >= 1), which sees keys k <= r % tq + tk - tq:
// y = softmax over the visible keys, 0 elsewhere. CPU reference: lab::causal_softmax (tensor/softmax.cpp).
void causal_softmax_f32(float* y, const float* x, int64_t rows, int64_t tq, int64_t tk);
void causal_softmax_f64(double* y, const double* x, int64_t rows, int64_t tq, int64_t tk);
// dx = y * (g - sum_{visible j} g_j y_j) on the visible keys, 0 elsewhere; same rows as above.
void causal_softmax_backward_f32(float* dx, const float* y, const float* g, int64_t rows, int64_t tq, int64_t tk);
void causal_softmax_backward_f64(double* dx, const double* y, const double* g, int64_t rows, int64_t tq, int64_t tk);

}  // namespace lab::cuda
