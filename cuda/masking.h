// GPU masked_fill over strided, broadcast operands, into a contiguous output (cuda/masking.cu).
// CPU reference: tensor/masking.cpp.
// cat needs no kernel of its own: it is copies into views (cuda/copy.cu).
#pragma once

#include "cuda/elem_type.h"

#include <cstdint>

namespace lab::cuda {

// out[i] = mask[mask_layout(i)] != 0 ? value : x[x_layout(i)]; both layouts have the output's shape,
// with stride 0 along the dims where the mask is broadcast.
void masked_fill_f32(float* out, const float* x, const Layout& x_layout, const uint8_t* mask, const Layout& mask_layout, float value);
void masked_fill_f64(double* out, const double* x, const Layout& x_layout, const uint8_t* mask, const Layout& mask_layout,
                     double value);

}  // namespace lab::cuda
