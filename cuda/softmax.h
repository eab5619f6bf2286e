// GPU softmax and log-softmax over the middle dim of a contiguous [outer, n, inner] tensor: a block
// per row when inner == 1, a thread per (o, i) otherwise (cuda/softmax.cu). CPU reference and the
// math: tensor/softmax.cpp, which splits the tensor this way. Backward passes: autograd/ops_nn.cpp.
#pragma once

#include <cstdint>

namespace lab::cuda {

// out[o, :, i] = softmax (or, with log_softmax set, log_softmax) of x[o, :, i]; n >= 1.
void softmax_f32(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax);
void softmax_f64(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax);

}  // namespace lab::cuda
