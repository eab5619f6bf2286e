// GPU sum and max/argmax over the middle dim of a contiguous [outer, n, inner] tensor, with two
// kernels, chosen by where the reduced elements lie in memory:
//   inner == 1 (rows)     a warp per row: the 32 lanes read neighbouring elements, then combine
//                         with shuffles. Few long rows are split into chunks, a warp each, and a
//                         second pass reduces the chunk results, so that every SM has work.
//   inner > 1 (columns)   a block of 32 x 8 threads per 32 neighbouring outputs: lanes read
//                         neighbouring columns (coalesced), 8 rows of threads split n, and shared
//                         memory combines the 8 partial results.
// Sum and max share both kernels through a combine rule on (value, index) pairs. The order of
// every combine is fixed, so results are deterministic. CPU reference: tensor/reduce.cpp.
#include "cuda/launch.cuh"
#include "cuda/reduce.h"

#include <cuda/std/limits>

namespace lab::cuda {

namespace {

template <typename T> struct Pair {
  T value;
  int64_t index;
};

struct SumOp {
  static constexpr const char* name = "sum";
  template <typename T> __device__ static Pair<T> identity() { return {T(0), 0}; }
  template <typename T> __device__ static Pair<T> combine(Pair<T> a, Pair<T> b) { return {a.value + b.value, 0}; }
};

// The larger value wins, NaN counting as largest; between equal values (or two NaNs) the smaller
// index, so the first maximum in row order wins whatever order the pairs meet in.
struct MaxOp {
  static constexpr const char* name = "max";
  template <typename T> __device__ static bool greater(T a, T b) { return a > b || (a != a && b == b); }
  template <typename T> __device__ static Pair<T> identity() {
    return {-::cuda::std::numeric_limits<T>::infinity(), ::cuda::std::numeric_limits<int64_t>::max()};
  }
  template <typename T> __device__ static Pair<T> combine(Pair<T> a, Pair<T> b) {
    if (greater(b.value, a.value)) return b;
    if (greater(a.value, b.value)) return a;
    return b.index < a.index ? b : a;
  }
};

// Tree over the 32 lanes of a warp: lane i takes lane i + 16, then i + 8, ... Lane 0 ends with the result.
template <typename Op, typename T> __device__ Pair<T> warp_combine(Pair<T> p) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const Pair<T> other{__shfl_down_sync(0xffffffffu, p.value, offset), __shfl_down_sync(0xffffffffu, p.index, offset)};
    p = Op::combine(p, other);
  }
  return p;
}

// Rows: x is [rows, n]; each row is cut into `chunks` pieces of ceil(n / chunks) and a warp reduces
// one piece (a segment) into out[segment], segment = row * chunks + chunk. The element's index is k,
// or x_index[row, k] when x already holds partial results of an earlier pass. out may be null.
template <typename Op, typename T>
__global__ void reduce_rows_kernel(T* out, int64_t* out_index, const T* x, const int64_t* x_index, int64_t rows, int64_t n,
                                   int64_t chunks) {
  const int lane = threadIdx.x % 32;
  const int64_t chunk_len = (n + chunks - 1) / chunks;
  // A warp's loop bounds depend only on its warp number, so all 32 lanes reach the shuffles together.
  for (int64_t segment = first_index() / 32; segment < rows * chunks; segment += grid_stride() / 32) {
    const int64_t row = segment / chunks;
    const int64_t begin = (segment % chunks) * chunk_len;
    const int64_t end = begin + chunk_len < n ? begin + chunk_len : n;
    Pair<T> acc = Op::template identity<T>();
#pragma unroll 4
    for (int64_t k = begin + lane; k < end; k += 32)
      acc = Op::combine(acc, Pair<T>{x[row * n + k], x_index ? x_index[row * n + k] : k});
    acc = warp_combine<Op>(acc);
    if (lane == 0) {
      if (out) out[segment] = acc.value;
      if (out_index) out_index[segment] = acc.index;
    }
  }
}

// Columns: x is [outer, n, inner] with inner > 1. A block takes tiles of 32 outputs (one o, 32
// neighbouring i); thread (tx, ty) reduces k = ty, ty + 8, ... of column i = i0 + tx, then row ty == 0
// combines the 8 partial results in order of ty.
constexpr int kColX = 32, kColY = 8;

template <typename Op, typename T>
__global__ void reduce_cols_kernel(T* out, int64_t* out_index, const T* x, int64_t outer, int64_t n, int64_t inner) {
  __shared__ Pair<T> partial[kColY][kColX];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t tiles_per_outer = (inner + kColX - 1) / kColX;
  // The loop depends only on blockIdx, so every thread of the block reaches both __syncthreads.
  for (int64_t tile = blockIdx.x; tile < outer * tiles_per_outer; tile += gridDim.x) {
    const int64_t o = tile / tiles_per_outer;
    const int64_t i = (tile % tiles_per_outer) * kColX + tx;
    Pair<T> acc = Op::template identity<T>();
    if (i < inner)
      for (int64_t k = ty; k < n; k += kColY) acc = Op::combine(acc, Pair<T>{x[(o * n + k) * inner + i], k});
    partial[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && i < inner) {
      for (int y = 1; y < kColY; y++) acc = Op::combine(acc, partial[y][tx]);
      if (out) out[o * inner + i] = acc.value;
      if (out_index) out_index[o * inner + i] = acc.index;
    }
    __syncthreads();  // partial is rewritten by the next tile
  }
}

template <typename Op, typename T>
void launch_rows(T* out, int64_t* out_index, const T* x, const int64_t* x_index, int64_t rows, int64_t n, int64_t chunks,
                 int max_blocks) {
  constexpr int warps_per_block = kThreads / 32;
  const int64_t blocks = std::min<int64_t>((rows * chunks + warps_per_block - 1) / warps_per_block, max_blocks);
  reduce_rows_kernel<Op, T><<<unsigned(blocks), kThreads>>>(out, out_index, x, x_index, rows, n, chunks);
  CUDA_CHECK_LAUNCH(kernel_name<T>(Op::name) + " (rows)", {"rows", rows}, {"n", n}, {"chunks", chunks});
}

// How many chunks each of `outer` rows of length n is split into on a GPU of `sms` SMs: enough
// segments to give each SM 64 warps, each segment at least 1024 elements long. 1 means one pass.
int64_t row_chunks(int64_t outer, int64_t n, int sms) {
  const int64_t wanted_warps = int64_t(sms) * 64;
  return outer >= wanted_warps ? 1 : std::max<int64_t>(1, std::min((wanted_warps + outer - 1) / outer, n / 1024));
}

// The scratch holds partial[row, chunk] values, then (for argmax) their indices, 8-byte aligned.
size_t values_bytes(int64_t partials, size_t value_bytes) { return (size_t(partials) * value_bytes + 7) / 8 * 8; }

template <typename Op, typename T>
void reduce(T* out, int64_t* index, const T* x, int64_t outer, int64_t n, int64_t inner, void* scratch) {
  if (outer == 0 || inner == 0) return;
  const int sms = multiprocessor_count();
  const int max_blocks = sms * 16;  // the grid-stride loops cover any more work than this
  if (inner > 1) {
    const int64_t tiles = outer * ((inner + kColX - 1) / kColX);
    reduce_cols_kernel<Op, T><<<unsigned(std::min<int64_t>(tiles, max_blocks)), dim3(kColX, kColY)>>>(out, index, x, outer, n, inner);
    CUDA_CHECK_LAUNCH(kernel_name<T>(Op::name) + " (columns)", {"outer", outer}, {"n", n}, {"inner", inner});
    return;
  }
  const int64_t chunks = row_chunks(outer, n, sms);
  if (chunks == 1) return launch_rows<Op>(out, index, x, nullptr, outer, n, 1, max_blocks);
  // Two passes: partial[row, chunk] (value and, for argmax, the index in the row), then one warp per row over them.
  if (!scratch)  // a caller's bug: reduce_scratch_bytes said how much to give
    throw CudaError("CUDA error in " + kernel_name<T>(Op::name) + ": " + std::to_string(outer) + " rows of " + std::to_string(n) + " need " +
                        std::to_string(reduce_scratch_bytes(outer, n, inner, sizeof(T), index != nullptr)) +
                        " bytes of scratch for two passes, and none was given",
                    int(cudaErrorInvalidValue), false);
  T* partial = static_cast<T*>(scratch);
  int64_t* partial_index = index ? reinterpret_cast<int64_t*>(static_cast<char*>(scratch) + values_bytes(outer * chunks, sizeof(T))) : nullptr;
  launch_rows<Op>(partial, partial_index, x, nullptr, outer, n, chunks, max_blocks);
  launch_rows<Op>(out, index, static_cast<const T*>(partial), static_cast<const int64_t*>(partial_index), outer, chunks, 1, max_blocks);
}

}  // namespace

size_t reduce_scratch_bytes(int64_t outer, int64_t n, int64_t inner, size_t value_bytes, bool with_index) {
  if (outer == 0 || inner != 1) return 0;
  const int64_t chunks = row_chunks(outer, n, multiprocessor_count());
  if (chunks == 1) return 0;
  return values_bytes(outer * chunks, value_bytes) + (with_index ? size_t(outer * chunks) * sizeof(int64_t) : 0);
}

void sum_f32(float* out, const float* x, int64_t outer, int64_t n, int64_t inner, void* scratch) {
  reduce<SumOp>(out, nullptr, x, outer, n, inner, scratch);
}
void sum_f64(double* out, const double* x, int64_t outer, int64_t n, int64_t inner, void* scratch) {
  reduce<SumOp>(out, nullptr, x, outer, n, inner, scratch);
}

void max_f32(float* out, int64_t* index, const float* x, int64_t outer, int64_t n, int64_t inner, void* scratch) {
  reduce<MaxOp>(out, index, x, outer, n, inner, scratch);
}
void max_f64(double* out, int64_t* index, const double* x, int64_t outer, int64_t n, int64_t inner, void* scratch) {
  reduce<MaxOp>(out, index, x, outer, n, inner, scratch);
}

}  // namespace lab::cuda
