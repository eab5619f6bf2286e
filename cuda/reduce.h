// GPU reductions over the middle dim of a contiguous [outer, n, inner] tensor; reductions over
// several dims are done one dim at a time by tensor/reduce.cpp (the CPU reference).
#pragma once

#include <cstdint>

namespace lab::cuda {

// out[o, i] = sum_k x[o, k, i]  (f32 accumulates in f32 with a tree per output, f64 in f64)
void sum_f32(float* out, const float* x, int64_t outer, int64_t n, int64_t inner);
void sum_f64(double* out, const double* x, int64_t outer, int64_t n, int64_t inner);
// out[o, i] = max_k x[o, k, i], index[o, i] = the first k that attains it (NaN counts as largest).
// Either output pointer may be null when it is not wanted. n must be >= 1.
void max_f32(float* out, int64_t* index, const float* x, int64_t outer, int64_t n, int64_t inner);
void max_f64(double* out, int64_t* index, const double* x, int64_t outer, int64_t n, int64_t inner);

}  // namespace lab::cuda
