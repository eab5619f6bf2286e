// GPU int8 quantization (a block per group: reduce the group's statistics, then write its codes),
// dequantization (a thread per element) and LLM.int8()'s int32 matmul in three numbered versions.
// Every formula comes from cuda/int8_ops.h, shared with the CPU references in quant/, so results
// match bit for bit; integer sums are exact in any order. Declarations and shapes: cuda/int8.h.
// Not here: shape and dtype checks (quant/int8.cpp, quant/int8_matmul.cpp), tensor cores (IMMA).
#include "cuda/block_reduce.cuh"
#include "cuda/int8.h"
#include "cuda/int8_ops.h"
#include "cuda/launch.cuh"

namespace lab::cuda {

namespace {

struct MinCombine {
  template <typename T> __device__ static T identity() { return ::cuda::std::numeric_limits<T>::infinity(); }
  template <typename T> __device__ static T combine(T a, T b) { return b < a ? b : a; }
};

// Blocks for `groups` groups: each block loops over groups with a stride of gridDim.x.
unsigned group_blocks(int64_t groups) { return unsigned(std::min<int64_t>(groups, int64_t(multiprocessor_count()) * 32)); }

// --- quantize: one block per group (max |x| over the group, through warp shuffles), then its codes.
// A per-tensor group is one block walking the whole tensor: simple and exact, not fast for big tensors.
__global__ void quantize_absmax_kernel(int8_t* q, float* absmax_out, float* scale_out, const float* x, int64_t groups, int64_t gs) {
  __shared__ float scratch[32];
  for (int64_t g = blockIdx.x; g < groups; g += gridDim.x) {  // depends only on blockIdx: every thread reaches the syncs
    const float* xg = x + g * gs;
    float m = 0.0f;
    for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) m = int8::absmax_step(m, xg[i]);
    m = block_max(m, scratch);
    const float inverse = int8::absmax_inverse(m);
    for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) q[g * gs + i] = int8::quantize_absmax(xg[i], inverse);
    if (threadIdx.x == 0) {
      if (absmax_out) absmax_out[g] = m;
      if (scale_out) scale_out[g] = int8::absmax_scale(m);
    }
  }
}

__global__ void quantize_zero_point_kernel(int8_t* q, float* scale, int8_t* zero_point, const float* x, int64_t groups, int64_t gs) {
  __shared__ float scratch[32];
  for (int64_t g = blockIdx.x; g < groups; g += gridDim.x) {
    const float* xg = x + g * gs;
    float lo = 0.0f, hi = 0.0f;  // the range always holds 0, as in the CPU reference
    for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) {
      lo = xg[i] < lo ? xg[i] : lo;
      hi = xg[i] > hi ? xg[i] : hi;
    }
    lo = block_reduce<MinCombine>(lo, scratch);
    hi = block_max(hi, scratch);
    const int8::ZeroPointParams p = int8::zero_point_params(lo, hi);
    for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) q[g * gs + i] = int8::quantize_zero_point(xg[i], p);
    if (threadIdx.x == 0) {
      scale[g] = p.scale;
      zero_point[g] = int8_t(p.zero_point);
    }
  }
}

__global__ void dequantize_kernel(float* out, const int8_t* q, const float* scale, const int8_t* zero_point, int64_t n, int64_t gs) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t g = i / gs;
    out[i] = int8::dequantize(q[i], zero_point ? zero_point[g] : 0, scale[g]);
  }
}

// --- int8 matmul, C [M, N] = A [M, K] B [N, K]^T. Blocks cover 32 x 32 outputs; gridDim.y (rows)
// allows at most 65535 blocks, so rows are launched in chunks.
constexpr int kTile = 32;
constexpr int64_t kMaxGridY = 65535;

template <typename Kernel>
void launch_matmul(const char* name, Kernel kernel, dim3 block, int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K) {
  if (M == 0 || N == 0) return;
  const int64_t col_blocks = (N + kTile - 1) / kTile, row_blocks = (M + kTile - 1) / kTile;
  for (int64_t r0 = 0; r0 < row_blocks; r0 += kMaxGridY) {
    const dim3 grid(unsigned(col_blocks), unsigned(std::min(kMaxGridY, row_blocks - r0)));
    kernel<<<grid, block>>>(c, a, b, M, N, K, r0 * kTile);
    CUDA_CHECK_LAUNCH(name, {"M", M}, {"N", N}, {"K", K});
  }
}

// v1: one thread per output, its dot product read straight from global memory (32 x 8 threads, a
// warp on 32 neighbouring columns). Napkin math: B is read along K for each column, one byte per
// multiply-add: 2 bytes per 2 integer ops, far below what the int8 units could do.
__global__ void int8_matmul_v1_kernel(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K, int64_t row0) {
  const int64_t row = row0 + int64_t(blockIdx.y) * kTile + threadIdx.y * 4;
  const int64_t col = int64_t(blockIdx.x) * kTile + threadIdx.x;
  if (col >= N) return;
  for (int r = 0; r < 4; r++) {  // 8 thread rows x 4 = 32 rows per block
    if (row + r >= M) return;
    const int8_t* ar = a + (row + r) * K;
    const int8_t* bc = b + col * K;
    int32_t acc = 0;
    for (int64_t k = 0; k < K; k++) acc += int32_t(ar[k]) * int32_t(bc[k]);
    c[(row + r) * N + col] = acc;
  }
}

// v2: 32 x 32 tiles of A and B in shared memory (as int, one column of padding so that a warp
// reading b_tile[tx][k] hits 32 different banks). Each global byte now serves 32 multiply-adds.
__global__ void __launch_bounds__(kTile * kTile)
    int8_matmul_v2_kernel(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K, int64_t row0) {
  __shared__ int a_tile[kTile][kTile + 1];
  __shared__ int b_tile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t tile_row = row0 + int64_t(blockIdx.y) * kTile, tile_col = int64_t(blockIdx.x) * kTile;
  int32_t acc = 0;
  for (int64_t k0 = 0; k0 < K; k0 += kTile) {
    // thread (ty, tx) loads A[tile_row + ty, k0 + tx] and B[tile_col + ty, k0 + tx]: coalesced along K, zero past the edges
    a_tile[ty][tx] = (tile_row + ty < M && k0 + tx < K) ? int(a[(tile_row + ty) * K + k0 + tx]) : 0;
    b_tile[ty][tx] = (tile_col + ty < N && k0 + tx < K) ? int(b[(tile_col + ty) * K + k0 + tx]) : 0;
    __syncthreads();
    for (int k = 0; k < kTile; k++) acc += a_tile[ty][k] * b_tile[tx][k];
    __syncthreads();
  }
  if (tile_row + ty < M && tile_col + tx < N) c[(tile_row + ty) * N + tile_col + tx] = acc;
}

// v3: the same tiles kept as bytes, read four at a time as one 32-bit word, and multiplied with
// __dp4a (sm_61+: four int8 products summed into an int32 in one instruction): a quarter of v2's
// shared-memory reads and multiply instructions. Rows are 36 bytes (9 words) so that a warp's 32
// rows fall in 32 different banks.
constexpr int kRowBytes = kTile + 4;

__global__ void __launch_bounds__(kTile * kTile)
    int8_matmul_v3_kernel(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K, int64_t row0) {
  __shared__ __align__(4) int8_t a_tile[kTile][kRowBytes];
  __shared__ __align__(4) int8_t b_tile[kTile][kRowBytes];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t tile_row = row0 + int64_t(blockIdx.y) * kTile, tile_col = int64_t(blockIdx.x) * kTile;
  int32_t acc = 0;
  for (int64_t k0 = 0; k0 < K; k0 += kTile) {
    a_tile[ty][tx] = (tile_row + ty < M && k0 + tx < K) ? a[(tile_row + ty) * K + k0 + tx] : int8_t(0);
    b_tile[ty][tx] = (tile_col + ty < N && k0 + tx < K) ? b[(tile_col + ty) * K + k0 + tx] : int8_t(0);
    __syncthreads();
    const int* a_words = reinterpret_cast<const int*>(a_tile[ty]);
    const int* b_words = reinterpret_cast<const int*>(b_tile[tx]);
    // acc += sum over 4 bytes of a_word[w] * b_word[w], signed
    for (int w = 0; w < kTile / 4; w++) acc = __dp4a(a_words[w], b_words[w], acc);
    __syncthreads();
  }
  if (tile_row + ty < M && tile_col + tx < N) c[(tile_row + ty) * N + tile_col + tx] = acc;
}

__global__ void dequantize_matmul_kernel(float* out, const int32_t* c, const float* sx, const float* sw, const float* bias, int64_t M,
                                         int64_t N) {
  for (int64_t e = first_index(); e < M * N; e += grid_stride()) {
    const int64_t i = e / N, j = e % N;
    out[e] = int8::dequantize_matmul_value(c[e], sx[i], sw[j], bias ? bias[j] : 0.0f);
  }
}

__global__ void dequantize_columns_kernel(float* out, const int8_t* q, const float* absmax, const int64_t* cols, int64_t rows, int64_t K,
                                          int64_t ncols) {
  for (int64_t e = first_index(); e < rows * ncols; e += grid_stride()) {
    const int64_t j = e / ncols, t = e % ncols;
    out[e] = int8::dequantize(q[j * K + cols[t]], 0, int8::absmax_scale(absmax[j]));
  }
}

}  // namespace

void int8_quantize_absmax(int8_t* q, float* absmax, float* scale, const float* x, int64_t groups, int64_t group_size) {
  if (groups == 0 || group_size == 0) return;
  quantize_absmax_kernel<<<group_blocks(groups), row_threads(group_size)>>>(q, absmax, scale, x, groups, group_size);
  CUDA_CHECK_LAUNCH("int8_quantize_absmax", {"groups", groups}, {"group_size", group_size});
}

void int8_quantize_zero_point(int8_t* q, float* scale, int8_t* zero_point, const float* x, int64_t groups, int64_t group_size) {
  if (groups == 0 || group_size == 0) return;
  quantize_zero_point_kernel<<<group_blocks(groups), row_threads(group_size)>>>(q, scale, zero_point, x, groups, group_size);
  CUDA_CHECK_LAUNCH("int8_quantize_zero_point", {"groups", groups}, {"group_size", group_size});
}

void int8_dequantize(float* out, const int8_t* q, const float* scale, const int8_t* zero_point, int64_t groups, int64_t group_size) {
  const int64_t n = groups * group_size;
  if (n == 0) return;
  dequantize_kernel<<<grid_for(n), kThreads>>>(out, q, scale, zero_point, n, group_size);
  CUDA_CHECK_LAUNCH("int8_dequantize", {"groups", groups}, {"group_size", group_size});
}

void int8_matmul_v1_naive(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K) {
  launch_matmul("int8_matmul_v1_naive", int8_matmul_v1_kernel, dim3(kTile, 8), c, a, b, M, N, K);
}
void int8_matmul_v2_smem_tiled(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K) {
  launch_matmul("int8_matmul_v2_smem_tiled", int8_matmul_v2_kernel, dim3(kTile, kTile), c, a, b, M, N, K);
}
void int8_matmul_v3_dp4a(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K) {
  launch_matmul("int8_matmul_v3_dp4a", int8_matmul_v3_kernel, dim3(kTile, kTile), c, a, b, M, N, K);
}

void int8_dequantize_matmul(float* out, const int32_t* c, const float* absmax_rows, const float* absmax_cols, const float* bias, int64_t M,
                            int64_t N) {
  if (M * N == 0) return;
  dequantize_matmul_kernel<<<grid_for(M * N), kThreads>>>(out, c, absmax_rows, absmax_cols, bias, M, N);
  CUDA_CHECK_LAUNCH("int8_dequantize_matmul", {"M", M}, {"N", N});
}

void int8_dequantize_columns(float* out, const int8_t* q, const float* absmax, const int64_t* cols, int64_t rows, int64_t K, int64_t ncols) {
  if (rows * ncols == 0) return;
  dequantize_columns_kernel<<<grid_for(rows * ncols), kThreads>>>(out, q, absmax, cols, rows, K, ncols);
  CUDA_CHECK_LAUNCH("int8_dequantize_columns", {"rows", rows}, {"K", K}, {"ncols", ncols});
}

}  // namespace lab::cuda
