// LLM.int8()'s pieces on the CPU, with the dispatch to cuda/int8.cu for tensors on the GPU:
// vector-wise quantization, the exact int32 matmul, its dequantization, and the outlier split.
// The math: quant/int8_matmul.h; the per-element formulas: cuda/int8_ops.h.
#include "quant/int8_matmul.h"

#include "cuda/int8_ops.h"
#include "quant/int8.h"
#include "tensor/elementwise.h"
#include "tensor/factory.h"
#include "tensor/index.h"
#include "tensor/matmul.h"
#include "tensor/reduce.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/int8.h"
#include "cuda/runtime.h"
#endif

#include <algorithm>

namespace lab::quant {

namespace i8 = lab::cuda::int8;

// |C| <= K * 128 * 128 must stay below 2^31.
constexpr int64_t kMaxInnerDim = ((int64_t(1) << 31) - 1) / (128 * 128);

static void check_matrix(const Tensor& t, DType dtype, const char* what, const char* op) {
  LAB_CHECK(t.defined(), "{}: {} is undefined", op, what);
  LAB_CHECK(t.dim() == 2, "{}: {} must be 2-D, got shape {}", op, what, shape_str(t.shape()));
  LAB_CHECK(t.dtype() == dtype, "{}: {} must be {}, got {}{}", op, what, dtype_name(dtype), dtype_name(t.dtype()),
            dtype == DType::i8 ? " (HINT: quantize it first with quantize_rows)" : " (HINT: .to(DType::f32))");
}

static void check_vector(const Tensor& t, int64_t n, Device device, const char* what, const char* op) {
  LAB_CHECK(t.defined() && t.dtype() == DType::f32 && t.dim() == 1 && t.size(0) == n,
            "{}: {} must be f32 [{}], got {}", op, what, n, t.defined() ? fmt::format("{} {}", dtype_name(t.dtype()), shape_str(t.shape())) : "undefined");
  LAB_CHECK(t.device() == device, "{}: {} is on {}, the matrix on {}", op, what, t.device().str(), device.str());
}

Int8Rows quantize_rows(const Tensor& x_in) {
  LAB_CHECK(x_in.defined() && is_floating(x_in.dtype()), "quantize_rows: needs a floating-point tensor, got {}",
            x_in.defined() ? dtype_name(x_in.dtype()) : "an undefined one");
  LAB_CHECK(x_in.dim() == 2, "quantize_rows: needs a 2-D tensor [rows, cols], got shape {}", shape_str(x_in.shape()));
  const Tensor x = x_in.to(DType::f32).contiguous();
  const int64_t rows = x.size(0), cols = x.size(1);
  Int8Rows r{Tensor::empty(x.shape(), DType::i8, x.device()), Tensor::empty({rows}, DType::f32, x.device())};
  if (rows == 0) return r;
  const float* px = x.data<float>();
  int8_t* pq = r.q.data<int8_t>();
  float* pa = r.absmax.data<float>();
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    cuda::int8_quantize_absmax(pq, pa, nullptr, px, rows, cols);
    return r;
#endif
  }
#pragma omp parallel for if (rows * cols >= kParallelGrain)
  for (int64_t i = 0; i < rows; i++) pa[i] = quantize_absmax_ref(px + i * cols, cols, pq + i * cols);
  return r;
}

Tensor dequantize_rows(const Int8Rows& r) {
  check_matrix(r.q, DType::i8, "the codes", "dequantize_rows");
  check_vector(r.absmax, r.q.size(0), r.q.device(), "absmax", "dequantize_rows");
  Int8Tensor t;
  t.q = r.q;
  // scale = absmax / 127, the IEEE division absmax_scale() does, on either device
  t.scale = div(r.absmax, full({1}, 127.0, DType::f32, r.absmax.device()));
  t.granularity = Granularity::per_row;
  t.group_size = std::max<int64_t>(r.q.size(1), 1);
  return dequantize(t);
}

void int8_matmul_ref(int32_t* c, const int8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K) {
#pragma omp parallel for if (M * N * K >= kParallelGrain * 16)
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      // C[i, j] = sum_k A[i, k] B[j, k], exact in int32
      int32_t acc = 0;
      for (int64_t k = 0; k < K; k++) acc += int32_t(a[i * K + k]) * int32_t(b[j * K + k]);
      c[i * N + j] = acc;
    }
}

Tensor int8_matmul(const Tensor& a_in, const Tensor& b_in) {
  check_matrix(a_in, DType::i8, "A", "int8_matmul");
  check_matrix(b_in, DType::i8, "B", "int8_matmul");
  LAB_CHECK(a_in.device() == b_in.device(), "int8_matmul: A is on {}, B on {}", a_in.device().str(), b_in.device().str());
  const int64_t M = a_in.size(0), K = a_in.size(1), N = b_in.size(0);
  LAB_CHECK(b_in.size(1) == K, "int8_matmul: A {} and B {} do not fit: C = A B^T needs A [M, K] and B [N, K]", shape_str(a_in.shape()),
            shape_str(b_in.shape()));
  LAB_CHECK(K <= kMaxInnerDim, "int8_matmul: inner dim K = {} could overflow the int32 sum (at most {}; HINT: split K)", K, kMaxInnerDim);
  const Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Tensor c = Tensor::empty({M, N}, DType::i32, a.device());
  if (c.numel() == 0) return c;
  if (a.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(a.device().index);
    cuda::int8_matmul(c.data<int32_t>(), a.data<int8_t>(), b.data<int8_t>(), M, N, K);
    return c;
#endif
  }
  int8_matmul_ref(c.data<int32_t>(), a.data<int8_t>(), b.data<int8_t>(), M, N, K);
  return c;
}

Tensor dequantize_matmul(const Tensor& c_in, const Tensor& absmax_rows, const Tensor& absmax_cols, const Tensor& bias) {
  check_matrix(c_in, DType::i32, "C", "dequantize_matmul");
  const int64_t M = c_in.size(0), N = c_in.size(1);
  const Device device = c_in.device();
  check_vector(absmax_rows, M, device, "the row absmax", "dequantize_matmul");
  check_vector(absmax_cols, N, device, "the column absmax", "dequantize_matmul");
  if (bias.defined()) check_vector(bias, N, device, "the bias", "dequantize_matmul");
  const Tensor c = c_in.contiguous(), sx = absmax_rows.contiguous(), sw = absmax_cols.contiguous();
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor out = Tensor::empty({M, N}, DType::f32, device);
  if (out.numel() == 0) return out;
  const int32_t* pc = c.data<int32_t>();
  const float *px = sx.data<float>(), *pw = sw.data<float>(), *pb = b.defined() ? b.data<float>() : nullptr;
  float* po = out.data<float>();
  if (device.is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(device.index);
    cuda::int8_dequantize_matmul(po, pc, px, pw, pb, M, N);
    return out;
#endif
  }
#pragma omp parallel for if (M * N >= kParallelGrain)
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) po[i * N + j] = i8::dequantize_matmul_value(pc[i * N + j], px[i], pw[j], pb ? pb[j] : 0.0f);
  return out;
}

std::vector<int64_t> outlier_columns(const Tensor& x, double threshold) {
  check_matrix(x, DType::f32, "x", "outlier_columns");
  std::vector<int64_t> cols;
  if (threshold <= 0 || x.numel() == 0) return cols;
  // column k is an outlier column when max_i |x[i, k]| >= threshold
  const std::vector<float> col_max = max(abs(x), 0).to_vector<float>();
  for (int64_t k = 0; k < int64_t(col_max.size()); k++)
    if (double(col_max[size_t(k)]) >= threshold) cols.push_back(k);
  return cols;
}

// The weight columns `cols` (i64 [n] on the weight's device), dequantized: out [N, n] f32.
static Tensor dequantize_columns(const Int8Rows& w, const Tensor& cols) {
  const int64_t N = w.q.size(0), K = w.q.size(1), n = cols.numel();
  const Tensor q = w.q.contiguous(), absmax = w.absmax.contiguous();
  Tensor out = Tensor::empty({N, n}, DType::f32, q.device());
  const int8_t* pq = q.data<int8_t>();
  const float* pa = absmax.data<float>();
  const int64_t* pc = cols.data<int64_t>();
  float* po = out.data<float>();
  if (q.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(q.device().index);
    cuda::int8_dequantize_columns(po, pq, pa, pc, N, K, n);
    return out;
#endif
  }
  parallel_for(N * n, [&](int64_t e) {
    const int64_t j = e / n, t = e % n;
    po[e] = i8::dequantize(pq[j * K + pc[t]], 0, i8::absmax_scale(pa[j]));
  });
  return out;
}

Tensor llm_int8_matmul(const Tensor& x, const Int8Rows& w, const Tensor& bias, double threshold, std::vector<int64_t>* outliers) {
  check_matrix(x, DType::f32, "x", "llm_int8_matmul");
  check_matrix(w.q, DType::i8, "the weight codes", "llm_int8_matmul");
  const int64_t K = x.size(1), N = w.q.size(0);
  LAB_CHECK(w.q.size(1) == K, "llm_int8_matmul: x {} and weight {} do not fit: y = x W^T needs x [M, K] and W [N, K]",
            shape_str(x.shape()), shape_str(w.q.shape()));
  LAB_CHECK(w.q.device() == x.device(), "llm_int8_matmul: x is on {}, the weight on {}", x.device().str(), w.q.device().str());
  check_vector(w.absmax, N, x.device(), "the weight absmax", "llm_int8_matmul");

  const std::vector<int64_t> cols = outlier_columns(x, threshold);
  if (outliers) *outliers = cols;
  // The int8 part: x with its outlier columns zeroed, quantized per row (so its absmax ignores them).
  Tensor x_inliers = x;
  if (!cols.empty()) {
    std::vector<float> keep(size_t(K), 1.0f);
    for (int64_t k : cols) keep[size_t(k)] = 0.0f;
    x_inliers = mul(x, from_vector(keep, {K}, x.device()));
  }
  const Int8Rows xq = quantize_rows(x_inliers);
  Tensor y = dequantize_matmul(int8_matmul(xq.q, w.q), xq.absmax, w.absmax, bias);
  if (cols.empty()) return y;
  // The f32 part: y += x[:, O] W'[:, O]^T
  const Tensor idx = from_vector(cols, {int64_t(cols.size())}, x.device());
  const Tensor x_out = index_select_rows(x.t().contiguous(), idx).t();  // [M, n]
  return add(y, matmul(x_out, dequantize_columns(w, idx).t()));
}

}  // namespace lab::quant
