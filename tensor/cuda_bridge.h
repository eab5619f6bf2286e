// How tensor/ hands a tensor to the kernels in cuda/: its dtype as cuda::ElemType and its view as
// a cuda::Layout. Plain C++ (no CUDA headers), so it compiles with or without nvcc; the calls into
// cuda/ that use it sit behind `#if LAB_HAS_CUDA` at each op's device dispatch.
#pragma once

#include "cuda/elem_type.h"
#include "tensor/tensor.h"

namespace lab {

inline cuda::ElemType to_elem_type(DType d) {
  switch (d) {
#define X(name, type, bytes, st) case DType::name: return cuda::ElemType::name;
    LAB_FOR_EACH_DTYPE(X)
#undef X
  }
  LAB_UNREACHABLE();
}

// The layout of `t` read as `shape` (broadcast: stride 0 where t has size 1 or fewer dims).
inline cuda::Layout to_layout(const Tensor& t, const Shape& shape) {
  Strides strides = broadcast_strides(t.shape(), t.strides(), shape);
  cuda::Layout l;
  l.ndim = int(shape.size());
  for (int i = 0; i < l.ndim; i++) {
    l.shape[i] = shape[i];
    l.stride[i] = strides[i];
  }
  return l;
}
inline cuda::Layout to_layout(const Tensor& t) { return to_layout(t, t.shape()); }

// The error for an op that has no GPU kernel for a dtype.
#define LAB_CUDA_DTYPE_ERROR(op, dtype) \
  LAB_FAIL("{} on cuda supports f32 and f64, got {} (HINT: cast with .to(DType::f32))", op, dtype_name(dtype))

}  // namespace lab
