// LLM.int8() (Dettmers et al. 2022, arXiv:2208.07339, sections 3.1-3.2): vector-wise int8 matmul
// with the mixed-precision outlier decomposition, as bitsandbytes computes it.
//
//   X [M, K] activations: one absmax per row (token);  W [N, K] weight: one absmax per output row
//   C = Xq Wq^T in int32;  out[i, j] = C[i, j] * absmax_x[i] * absmax_w[j] / 127^2 (+ bias[j])
//   outliers: the input columns k with any |X[:, k]| >= threshold go through f32 instead,
//             X[:, O] W'[:, O]^T with W' the dequantized weight; the int8 part sees those columns as zero.
//
// Not here: the general codec (int8.h), the layer (linear8bit.h). CUDA: cuda/int8.cu.
#pragma once

#include "tensor/tensor.h"

#include <cstdint>
#include <vector>

namespace lab::quant {

// bitsandbytes' vector-wise format (its CB and SCB): int8 rows and each row's absmax.
struct Int8Rows {
  Tensor q;       // i8 [rows, cols], q = round(x * 127 / absmax[row])
  Tensor absmax;  // f32 [rows]
  size_t nbytes() const { return (q.defined() ? q.nbytes() : 0) + (absmax.defined() ? absmax.nbytes() : 0); }
};

Int8Rows quantize_rows(const Tensor& x);      // x [rows, cols], floating point, CPU or CUDA
Tensor dequantize_rows(const Int8Rows& rows);  // f32 [rows, cols]

// C = A B^T, exact in int32. a: i8 [M, K], b: i8 [N, K] (same device); K at most 131071 (so |C| < 2^31).
Tensor int8_matmul(const Tensor& a, const Tensor& b);
// out[i, j] = C[i, j] * absmax_rows[i] * absmax_cols[j] / 127^2 + bias[j]; c i32 [M, N], bias f32 [N] or undefined.
Tensor dequantize_matmul(const Tensor& c, const Tensor& absmax_rows, const Tensor& absmax_cols, const Tensor& bias = Tensor());

// The columns of x [M, K] with any |x| >= threshold, ascending (none when threshold <= 0).
std::vector<int64_t> outlier_columns(const Tensor& x, double threshold);

// y = x W^T + bias through int8, with the outlier decomposition at `threshold` (bitsandbytes'
// default 6.0; 0 turns it off: plain vector-wise int8). x f32 [M, K], w quantized [N, K], y f32 [M, N].
// If `outliers` is given, it receives the columns that went through f32.
Tensor llm_int8_matmul(const Tensor& x, const Int8Rows& w, const Tensor& bias = Tensor(), double threshold = 6.0,
                       std::vector<int64_t>* outliers = nullptr);

// The CPU reference of int8_matmul on raw pointers (what the GPU versions are held to).
void int8_matmul_ref(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K);

}  // namespace lab::quant
