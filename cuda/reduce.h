// GPU reductions over the middle dim of a contiguous [outer, n, inner] tensor; reductions over
// several dims are done one dim at a time by tensor/reduce.cpp (the CPU reference).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lab::cuda {

// Few long rows (inner == 1) are reduced in two passes, through partial results in device memory
// that the caller gives as `scratch`: reduce_scratch_bytes says how many bytes (0 when one pass
// does, and then scratch may be null). tensor/reduce.cpp takes them from the allocator, so they
// count in its peak and obey the memory budget like any tensor. value_bytes: sizeof(float or double);
// with_index: argmax's indices are wanted too.
size_t reduce_scratch_bytes(int64_t outer, int64_t n, int64_t inner, size_t value_bytes, bool with_index);

// out[o, i] = sum_k x[o, k, i]  (f32 accumulates in f32 with a tree per output, f64 in f64)
void sum_f32(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, void* scratch);
void sum_f64(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, void* scratch);
// out[o, i] = max_k x[o, k, i], index[o, i] = the first k that attains it (NaN counts as largest).
// Either output pointer may be null when it is not wanted. n must be >= 1.
void max_f32(float* out, int64_t* index, const float* x, int64_t outer, int64_t n, int64_t inner, void* scratch);
void max_f64(double* out, int64_t* index, const double* x, int64_t outer, int64_t n, int64_t inner, void* scratch);

}  // namespace lab::cuda
