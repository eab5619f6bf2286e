// The element types the GPU kernels handle, and the index layout of a strided operand.
//
// cuda/ depends on nothing else of loralab's, so it has its own short enum; tensor/cuda_bridge.h
// maps lab::DType onto it.
#pragma once

#include <cstdint>

namespace lab::cuda {

enum class ElemType : uint8_t { f32, f64, bf16, f16, i8, u8, i32, i64 };

// "f32", "bf16", ...: lab::dtype_name's words, for error messages.
constexpr const char* elem_type_name(ElemType t) {
  constexpr const char* names[] = {"f32", "f64", "bf16", "f16", "i8", "u8", "i32", "i64"};
  return names[int(t)];
}

constexpr int kMaxDims = 8;

// How to find element i (row-major index over `shape`) of an operand: sum of index[d] * stride[d],
// in elements, from a pointer that already includes the view's offset. A broadcast dim has stride 0.
struct Layout {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};
};

}  // namespace lab::cuda
