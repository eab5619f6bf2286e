// GPU row gather and scatter-add: the kernels under an embedding's forward and backward.
// The ids arrive as int64 and have been checked on the host: each is in [0, V).
// CPU reference and the rules: tensor/index.cpp; the kernels: cuda/index.cu.
#pragma once

#include <cstdint>

namespace lab::cuda {

// out[i, :] = table[ids[i], :] for i < n; table [V, C] and out [n, C] contiguous.
void index_select_rows_f32(float* out, const float* table, const int64_t* ids, int64_t n, int64_t V, int64_t C);
void index_select_rows_f64(double* out, const double* table, const int64_t* ids, int64_t n, int64_t V, int64_t C);

// out [V, C] = 0, then out[ids[i], :] += grad[i, :] for i < n, with atomics (the order of the additions varies).
void index_add_rows_f32(float* out, const float* grad, const int64_t* ids, int64_t n, int64_t V, int64_t C);
void index_add_rows_f64(double* out, const double* grad, const int64_t* ids, int64_t n, int64_t V, int64_t C);

}  // namespace lab::cuda
