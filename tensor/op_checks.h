// Argument checks that several tensor ops share, each a lab::Error naming the op and the argument.
#pragma once

#include "tensor/error.h"
#include "tensor/tensor.h"

namespace lab {

// t is defined and holds f32 or f64: "layer_norm: weight must be f32 or f64, got i64 (HINT: ...)".
inline void check_float(const char* op, const char* name, const Tensor& t) {
  LAB_CHECK(t.defined(), "{}: {} is undefined", op, name);
  LAB_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, "{}: {} must be f32 or f64, got {} (HINT: cast with .to(DType::f32))",
            op, name, dtype_name(t.dtype()));
}

}  // namespace lab
