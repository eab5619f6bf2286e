// GPU LayerNorm over the last dim of a contiguous [rows, C] tensor, forward and backward, with
// deterministic sums (no atomics). CPU reference and the math: tensor/layer_norm.cpp and
// tensor/layer_norm.h; the kernels: cuda/layer_norm.cu.
#pragma once

#include <cstdint>

namespace lab::cuda {

// y [rows, C], mean [rows], rstd [rows] from x [rows, C]; weight and bias [C] may be null (1 and 0).
void layer_norm_forward_f32(float* y, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                            int64_t rows, int64_t C, float eps);
void layer_norm_forward_f64(double* y, double* mean, double* rstd, const double* x, const double* weight, const double* bias,
                            int64_t rows, int64_t C, double eps);

// dx [rows, C], and dweight [C] and dbias [C] unless null, from dy [rows, C], x, the forward's mean
// and rstd [rows], and weight [C] (null: no affine weight, read as 1).
void layer_norm_backward_f32(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* mean,
                             const float* rstd, const float* weight, int64_t rows, int64_t C);
void layer_norm_backward_f64(double* dx, double* dweight, double* dbias, const double* dy, const double* x, const double* mean,
                             const double* rstd, const double* weight, int64_t rows, int64_t C);

}  // namespace lab::cuda
