// GPU int8 quantization and the int8 matmul of LLM.int8(), on raw pointers. The formulas are in
// cuda/int8_ops.h, shared with the CPU reference in quant/int8.cpp and quant/int8_matmul.cpp, so a
// GPU result must equal the CPU's bit for bit (tests/cuda/test_cuda_int8.cpp checks it).
//
// Groups are runs of group_size consecutive elements (a tensor, a row, or a block of a row); every
// pointer is to contiguous row-major data. Matmul shapes: A [M, K], B [N, K] (a weight, rows are
// output features), C [M, N] = A B^T, int32.
#pragma once

#include <cstdint>

namespace lab::cuda {

// q = round(x * 127 / absmax_g) per group g; writes absmax[g] and/or scale[g] = absmax / 127 (null skips one).
void int8_quantize_absmax(int8_t* q, float* absmax, float* scale, const float* x, int64_t groups, int64_t group_size);
// q = round(x / scale_g) + zero_point_g over [min(x, 0), max(x, 0)] per group.
void int8_quantize_zero_point(int8_t* q, float* scale, int8_t* zero_point, const float* x, int64_t groups, int64_t group_size);
// out = (q - zero_point_g) * scale_g; zero_point null means 0 (absmax).
void int8_dequantize(float* out, const int8_t* q, const float* scale, const int8_t* zero_point, int64_t groups, int64_t group_size);

// C = A B^T in int32, exact: the numbered versions (v1 one thread per output; v2 32x32 tiles in
// shared memory; v3 the same tiles read four int8 at a time with __dp4a). Needs K * 128^2 < 2^31.
void int8_matmul_v1_naive(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K);
void int8_matmul_v2_smem_tiled(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K);
void int8_matmul_v3_dp4a(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K);
inline void int8_matmul(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K) { int8_matmul_v3_dp4a(c, a, b, M, N, K); }

// out[i, j] = C[i, j] * absmax_rows[i] * absmax_cols[j] / 127^2 + bias[j]  (bias null means 0)
void int8_dequantize_matmul(float* out, const int32_t* c, const float* absmax_rows, const float* absmax_cols, const float* bias,
                            int64_t M, int64_t N);
// out[j, t] = q[j, cols[t]] * absmax[j] / 127: the weight columns LLM.int8() sends through f32; out [rows, ncols].
void int8_dequantize_columns(float* out, const int8_t* q, const float* absmax, const int64_t* cols, int64_t rows, int64_t K,
                             int64_t ncols);

}  // namespace lab::cuda
