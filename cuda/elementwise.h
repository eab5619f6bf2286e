// GPU elementwise kernels: unary and binary (with broadcasting) over strided inputs, writing a
// contiguous output. CPU reference: tensor/elementwise.cpp. Math: cuda/elementwise_ops.h.
#pragma once

#include "cuda/elem_type.h"
#include "cuda/elementwise_ops.h"

#include <cstdint>

namespace lab::cuda {

// out[i] = op(x[layout(i)], param) for i < n, where n = product of x_layout.shape.
void unary_f32(UnaryOp op, float* out, const float* x, const Layout& x_layout, float param);
void unary_f64(UnaryOp op, double* out, const double* x, const Layout& x_layout, double param);

// out[i] = op(a[a_layout(i)], b[b_layout(i)]); both layouts share the output's shape, with stride 0
// along broadcast dims.
void binary_f32(BinaryOp op, float* out, const float* a, const Layout& a_layout, const float* b, const Layout& b_layout);
void binary_f64(BinaryOp op, double* out, const double* a, const Layout& a_layout, const double* b, const Layout& b_layout);

}  // namespace lab::cuda
