// What the elementwise-style kernels of cuda/ share: the block size, a grid that covers n elements
// with a grid-stride loop, and how to find element i of a strided Layout.
//
// Indexing is int64 throughout: a tensor may hold more than 2^31 elements. Included by .cu files only.
#pragma once

#include "cuda/cuda_check.h"
#include "cuda/elem_type.h"

#include <algorithm>
#include <cstdint>

namespace lab::cuda {

constexpr int kThreads = 256;  // threads per block of the 1-D kernels

// Blocks to cover n elements, kThreads each; capped (the kernels loop with a grid stride), n > 0.
inline unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t(1) << 20)); }

// The GPU's streaming multiprocessors: how many blocks it runs side by side.
inline int multiprocessor_count() {
  int device = 0, count = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}

// Elements in the layout: the product of its shape (1 for a scalar, ndim 0).
inline int64_t numel(const Layout& l) {
  int64_t n = 1;
  for (int d = 0; d < l.ndim; d++) n *= l.shape[d];
  return n;
}

// Row-major packed, so element i sits at offset i (size-1 dims may have any stride).
inline bool is_contiguous(const Layout& l) {
  int64_t expected = 1;
  for (int d = l.ndim - 1; d >= 0; d--) {
    if (l.shape[d] != 1 && l.stride[d] != expected) return false;
    expected *= l.shape[d];
  }
  return true;
}

// offset of element i = sum_d index_d * stride_d, with index_d the digits of i in the mixed radix `shape`.
__device__ inline int64_t offset_of(int64_t i, const Layout& l) {
  int64_t offset = 0;
  for (int d = l.ndim - 1; d >= 0; d--) {
    offset += (i % l.shape[d]) * l.stride[d];
    i /= l.shape[d];
  }
  return offset;
}

// This thread's first element and the distance to its next one, in a grid-stride loop.
__device__ inline int64_t first_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

}  // namespace lab::cuda
