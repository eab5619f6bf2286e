// GPU NF4 kernels (cuda/nf4.h): quantize, dequantize (plain and into the transpose), the
// double-quantization statistics, and Linear4bit's dequantize-then-matmul.
//
// Each kernel does what its CPU reference in quant/ does, rounding for rounding: reciprocals and
// products with __frcp_rn / __fmul_rn / __fadd_rn (nvcc would otherwise fuse a multiply and an add
// into one FMA with one rounding), max without regard to order (exact), and the mean's sums in the
// reference's order. So tests/cuda/test_cuda_nf4.cpp can ask for the same bytes, not a tolerance.
// Code books go to shared memory at the start of each block (a dynamic index into a kernel
// parameter would spill it to local memory). Even that one copy reads the parameter at a
// thread-dependent index, so the table and map parameters are `const __grid_constant__`: read in
// place, where a plain by-value parameter is first copied whole into each thread's local memory
// (`nvcc -Xptxas -v`: a 128-byte stack frame in every NF4 kernel without it, none with it).
#include "cuda/dynamic_code.cuh"
#include "cuda/launch.cuh"
#include "cuda/matmul.h"
#include "cuda/nf4.h"

#include <algorithm>

namespace lab::cuda {

namespace {

constexpr int kWarp = 32;

// The NF4 table and thresholds, and the 8-bit map, copied into shared memory by the whole block.
struct SharedBooks {
  float lut[16];
  float thresholds[15];
  float map[256];
};

// Either book may be absent (nullptr): the dynamic-code kernels need only the map.
__device__ void load_books(SharedBooks& s, const NF4Table* table, const DynamicMap256* map) {
  for (int i = threadIdx.y * blockDim.x + threadIdx.x; i < 256; i += blockDim.x * blockDim.y) {
    if (table && i < 16) s.lut[i] = table->v[i];
    if (table && i < 15) s.thresholds[i] = table->thresholds[i];
    if (map) s.map[i] = map->v[i];
  }
  __syncthreads();
}

// code = #{thresholds < x}: nearest level, ties to the lower code, NaN to 0
__device__ uint8_t nf4_code(float x, const float* thresholds) {
  uint8_t code = 0;
#pragma unroll
  for (int i = 0; i < 15; i++) code += x > thresholds[i];
  return code;
}

// x * (1 / absmax); a zero block has inv = 0; an absmax whose reciprocal overflows divides instead
__device__ float scaled(float x, float absmax, float inv) { return isinf(inv) ? __fdiv_rn(x, absmax) : __fmul_rn(x, inv); }

// The max of |x| over the warp's lanes; every lane gets it. Max is exact, so any order gives the CPU's value.
__device__ float warp_absmax(float m) {
  for (int offset = 16; offset > 0; offset /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, offset));
  return m;
}

// absmax of NF4 block b: stored, or decoded from the double quantization: map[q] * absmax2 + offset
__device__ float block_absmax(const NF4Weight& w, const float* map, int64_t b) {
  if (w.absmax) return w.absmax[b];
  return __fadd_rn(__fmul_rn(map[w.qabsmax[b]], w.absmax2[b / w.blocksize2]), w.offset);
}

// v1: a warp per NF4 block (grid-stride over blocks). Lanes read neighbouring values for the max,
// then each lane packs pairs (2j, 2j + 1) into byte j: element 2j in the high nibble.
__global__ void nf4_quantize_kernel(uint8_t* packed, float* absmax, const float* x, int64_t n, int64_t blocksize, const __grid_constant__ NF4Table table) {
  __shared__ SharedBooks books;
  load_books(books, &table, nullptr);
  const int lane = threadIdx.x % kWarp;
  const int64_t blocks = (n + blocksize - 1) / blocksize;
  for (int64_t b = first_index() / kWarp; b < blocks; b += grid_stride() / kWarp) {
    const int64_t begin = b * blocksize, len = min(blocksize, n - begin);
    float m = 0;
    for (int64_t i = lane; i < len; i += kWarp) m = fmaxf(m, fabsf(x[begin + i]));
    m = warp_absmax(m);
    const float inv = m > 0 ? __frcp_rn(m) : 0.0f;
    if (lane == 0) absmax[b] = m;
    for (int64_t j = lane; 2 * j < len; j += kWarp) {
      const uint8_t hi = nf4_code(scaled(x[begin + 2 * j], m, inv), books.thresholds);
      const uint8_t lo = 2 * j + 1 < len ? nf4_code(scaled(x[begin + 2 * j + 1], m, inv), books.thresholds) : nf4_code(0.0f, books.thresholds);
      packed[begin / 2 + j] = uint8_t(hi << 4 | lo);
    }
  }
}

// One thread per packed byte: out[2j], out[2j + 1] = NF4[hi], NF4[lo] times their block's absmax.
__global__ void nf4_dequantize_kernel(float* out, NF4Weight w, const __grid_constant__ NF4Table table) {
  __shared__ SharedBooks books;
  load_books(books, &table, w.qabsmax ? &w.map : nullptr);
  const int64_t bytes = (w.n + 1) / 2;
  for (int64_t j = first_index(); j < bytes; j += grid_stride()) {
    const uint8_t q = w.packed[j];
    const int64_t i = 2 * j;
    const float a = block_absmax(w, books.map, i / w.blocksize);  // blocksize is even: 2j and 2j + 1 share a block
    out[i] = __fmul_rn(books.lut[q >> 4], a);
    if (i + 1 < w.n) out[i + 1] = __fmul_rn(books.lut[q & 0x0f], a);
  }
}

// W [rows, cols] -> out [cols, rows]. A 32 x 8 block moves 32 x 32 tiles: it reads (and dequantizes)
// a tile along W's rows, then writes it along out's rows. The +1 column keeps the transposed reads
// of the tile off a single shared-memory bank.
__global__ void nf4_dequantize_transposed_kernel(float* out, NF4Weight w, int64_t rows, int64_t cols, const __grid_constant__ NF4Table table) {
  __shared__ SharedBooks books;
  __shared__ float tile[32][33];
  load_books(books, &table, w.qabsmax ? &w.map : nullptr);
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t r0 = int64_t(blockIdx.y) * 32; r0 < rows; r0 += int64_t(gridDim.y) * 32) {
    for (int64_t c0 = int64_t(blockIdx.x) * 32; c0 < cols; c0 += int64_t(gridDim.x) * 32) {
      for (int k = 0; k < 32; k += 8) {
        const int64_t r = r0 + ty + k, c = c0 + tx;
        if (r < rows && c < cols) {
          const int64_t i = r * cols + c;
          const uint8_t q = w.packed[i / 2];
          tile[ty + k][tx] = __fmul_rn(books.lut[i % 2 == 0 ? q >> 4 : q & 0x0f], block_absmax(w, books.map, i / w.blocksize));
        }
      }
      __syncthreads();
      for (int k = 0; k < 32; k += 8) {
        const int64_t c = c0 + ty + k, r = r0 + tx;
        if (r < rows && c < cols) out[c * rows + r] = tile[tx][ty + k];
      }
      __syncthreads();
    }
  }
}

// partial[r] = sum of x over run r (256 values), in f64, in order: one thread a run
__global__ void run_sums_kernel(double* partial, const float* x, int64_t n) {
  const int64_t runs = (n + 255) / 256;
  for (int64_t r = first_index(); r < runs; r += grid_stride()) {
    double s = 0;
    for (int64_t i = r * 256; i < min(n, r * 256 + 256); i++) s = __dadd_rn(s, double(x[i]));
    partial[r] = s;
  }
}

// partial[runs] = float(sum of the runs, in order / n): one thread, as the reference
__global__ void mean_of_runs_kernel(double* partial, int64_t runs, int64_t n) {
  if (first_index() != 0) return;
  double total = 0;
  for (int64_t r = 0; r < runs; r++) total = __dadd_rn(total, partial[r]);
  partial[runs] = double(__double2float_rn(__ddiv_rn(total, double(n))));
}

// A warp per block of the 8-bit codec: absmax of x - offset, then the binary search for each value.
__global__ void dynamic8_quantize_kernel(uint8_t* codes, float* absmax, const float* x, float offset, int64_t n, int64_t blocksize,
                                         const __grid_constant__ DynamicMap256 map) {
  __shared__ SharedBooks books;
  load_books(books, nullptr, &map);
  const int lane = threadIdx.x % kWarp;
  const int64_t blocks = (n + blocksize - 1) / blocksize;
  for (int64_t b = first_index() / kWarp; b < blocks; b += grid_stride() / kWarp) {
    const int64_t begin = b * blocksize, len = min(blocksize, n - begin);
    float m = 0;
    for (int64_t i = lane; i < len; i += kWarp) m = fmaxf(m, fabsf(__fsub_rn(x[begin + i], offset)));
    m = warp_absmax(m);
    const float inv = m > 0 ? __frcp_rn(m) : 0.0f;
    if (lane == 0) absmax[b] = m;
    for (int64_t i = lane; i < len; i += kWarp) codes[begin + i] = dynamic_code(books.map, scaled(__fsub_rn(x[begin + i], offset), m, inv));
  }
}

// out = map[code] * absmax + offset
__global__ void dynamic8_dequantize_kernel(float* out, const uint8_t* codes, const float* absmax, float offset, int64_t n, int64_t blocksize,
                                           const __grid_constant__ DynamicMap256 map) {
  __shared__ SharedBooks books;
  load_books(books, nullptr, &map);
  for (int64_t i = first_index(); i < n; i += grid_stride())
    out[i] = __fadd_rn(__fmul_rn(books.map[codes[i]], absmax[i / blocksize]), offset);
}

// Enough warps for `items` warp-sized jobs, kThreads threads a block.
unsigned grid_for_warps(int64_t items) { return unsigned(std::min<int64_t>((items * kWarp + kThreads - 1) / kThreads, int64_t(1) << 20)); }

}  // namespace

void nf4_quantize(uint8_t* packed, float* absmax, const float* x, int64_t n, int64_t blocksize, const NF4Table& table) {
  if (n == 0) return;
  nf4_quantize_kernel<<<grid_for_warps((n + blocksize - 1) / blocksize), kThreads>>>(packed, absmax, x, n, blocksize, table);
  CUDA_CHECK_LAUNCH("nf4_quantize", {"n", n}, {"blocksize", blocksize});
}

void nf4_dequantize(float* out, const NF4Weight& w, const NF4Table& table) {
  if (w.n == 0) return;
  nf4_dequantize_kernel<<<grid_for((w.n + 1) / 2), kThreads>>>(out, w, table);
  CUDA_CHECK_LAUNCH("nf4_dequantize", {"n", w.n});
}

void nf4_dequantize_transposed(float* out, const NF4Weight& w, int64_t rows, int64_t cols, const NF4Table& table) {
  if (rows == 0 || cols == 0) return;
  const dim3 grid(unsigned(std::min<int64_t>((cols + 31) / 32, 65535)), unsigned(std::min<int64_t>((rows + 31) / 32, 65535)));
  nf4_dequantize_transposed_kernel<<<grid, dim3(32, 8)>>>(out, w, rows, cols, table);
  CUDA_CHECK_LAUNCH("nf4_dequantize_transposed", {"rows", rows}, {"cols", cols});
}

float double_quant_offset(const float* absmax, int64_t n, double* scratch) {
  if (n == 0) return 0.0f;
  const int64_t runs = (n + 255) / 256;
  run_sums_kernel<<<grid_for(runs), kThreads>>>(scratch, absmax, n);
  CUDA_CHECK_LAUNCH("double_quant_offset (run sums)", {"n", n}, {"runs", runs});
  mean_of_runs_kernel<<<1, 1>>>(scratch, runs, n);
  CUDA_CHECK_LAUNCH("double_quant_offset (mean of runs)", {"n", n}, {"runs", runs});
  double mean = 0;
  CUDA_CHECK(cudaMemcpy(&mean, scratch + runs, sizeof(double), cudaMemcpyDeviceToHost));
  return float(mean);
}

void dynamic8_quantize(uint8_t* codes, float* absmax2, const float* x, float offset, int64_t n, int64_t blocksize, const DynamicMap256& map) {
  if (n == 0) return;
  dynamic8_quantize_kernel<<<grid_for_warps((n + blocksize - 1) / blocksize), kThreads>>>(codes, absmax2, x, offset, n, blocksize, map);
  CUDA_CHECK_LAUNCH("dynamic8_quantize", {"n", n}, {"blocksize", blocksize});
}

void dynamic8_dequantize(float* out, const uint8_t* codes, const float* absmax2, float offset, int64_t n, int64_t blocksize,
                         const DynamicMap256& map) {
  if (n == 0) return;
  dynamic8_dequantize_kernel<<<grid_for(n), kThreads>>>(out, codes, absmax2, offset, n, blocksize, map);
  CUDA_CHECK_LAUNCH("dynamic8_dequantize", {"n", n}, {"blocksize", blocksize});
}

// y = x W^T: W^T dequantized into scratch [in, out], then the matmul every f32 layer uses
void nf4_linear_f32(float* y, const float* x, int64_t M, const NF4Weight& w, int64_t out_features, int64_t in_features, float* scratch,
                    const NF4Table& table) {
  nf4_dequantize_transposed(scratch, w, out_features, in_features, table);
  matmul_f32(y, x, scratch, MatmulShape{1, M, out_features, in_features, 0, 0});
}

}  // namespace lab::cuda
