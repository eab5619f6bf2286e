// GPU fill, strided copy and dtype cast. CPU reference: tensor/copy.cpp (rules: tensor/convert.h).
#pragma once

#include "cuda/elem_type.h"

#include <cstdint>

namespace lab::cuda {

// Every element of `out` (viewed through out_layout) set to `value`, converted to the element
// type as the CPU does: round to nearest even for bf16/f16, truncate and saturate for integers.
void fill(void* out, ElemType type, const Layout& out_layout, double value);

// out[out_layout(i)] = cast(src[src_layout(i)]) for every i; both layouts have the same shape
// (src's has stride 0 where it is broadcast). Float -> integer truncates toward zero, saturates,
// NaN -> 0 (as __float2int_rz); integer -> integer wraps.
void copy_cast(void* out, ElemType out_type, const Layout& out_layout, const void* src, ElemType src_type,
               const Layout& src_layout);

}  // namespace lab::cuda
