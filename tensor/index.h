// Gathering rows by index and scattering gradients back: the kernels under an embedding.
//
//   index_select_rows(table [V, C], ids [...])     -> out [..., C],  out[i] = table[ids[i]]
//   index_add_rows(grad [..., C], ids [...], V)    -> [V, C],        out[v] = sum_{i: ids[i] = v} grad[i]
//
// ids are i64 or i32 on the same device as the table; an id outside [0, V) is an error naming the
// position and the value (checked on the CPU, on a copy when the ids live on the GPU, before any
// kernel runs). index_add on the GPU sums with atomics, so its f32 result can differ from the CPU's
// in the last bits. f32 and f64, CPU and CUDA (cuda/index.cu).
#pragma once

#include "tensor/tensor.h"

namespace lab {

Tensor index_select_rows(const Tensor& table, const Tensor& ids);
Tensor index_add_rows(const Tensor& grad, const Tensor& ids, int64_t num_rows);

}  // namespace lab
