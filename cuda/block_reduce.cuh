// Sum and max over the threads of a block, for the row kernels (softmax, cross-entropy, layer norm)
// that give each row one block: a butterfly of warp shuffles in each warp, then warp 0 combines the
// per-warp results through shared memory. Every thread gets the result.
//
// The order of every addition is fixed by the block size, so results are deterministic. The block
// size must be a multiple of 32 and every thread of the block must make the call (it syncs).
// Not here: reductions over a tensor dim (cuda/reduce.cu). Included by .cu files only.
#pragma once

#include <cuda/std/limits>

#include <cstdint>

namespace lab::cuda {

struct SumCombine {
  template <typename T> __device__ static T identity() { return T(0); }
  template <typename T> __device__ static T combine(T a, T b) { return a + b; }
};

// NaN is not special here: a row with a NaN gives NaN through the sum that follows anyway.
struct MaxCombine {
  template <typename T> __device__ static T identity() { return -::cuda::std::numeric_limits<T>::infinity(); }
  template <typename T> __device__ static T combine(T a, T b) { return b > a ? b : a; }
};

// Lane i combines with lane i ^ 16, i ^ 8, ... i ^ 1: after 5 steps every lane holds the warp's result.
template <typename Op, typename T> __device__ T warp_reduce(T v) {
  for (int mask = 16; mask > 0; mask /= 2) v = Op::combine(v, __shfl_xor_sync(0xffffffffu, v, mask));
  return v;
}

// `scratch` is __shared__ T[32], owned by the caller and reusable across calls.
template <typename Op, typename T> __device__ T block_reduce(T v, T* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_reduce<Op>(v);
  __syncthreads();  // every thread has read scratch[0] of the previous call before it is overwritten
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_reduce<Op>(lane < warps ? scratch[lane] : Op::template identity<T>());
    if (lane == 0) scratch[0] = v;
  }
  __syncthreads();
  return scratch[0];
}

template <typename T> __device__ T block_sum(T v, T* scratch) { return block_reduce<SumCombine>(v, scratch); }
template <typename T> __device__ T block_max(T v, T* scratch) { return block_reduce<MaxCombine>(v, scratch); }

// Threads per block for a row of n elements: enough to cover short rows without idle warps, at most 512.
inline int row_threads(int64_t n) {
  int threads = 32;
  while (threads < 512 && threads < n) threads *= 2;
  return threads;
}

}  // namespace lab::cuda
