// Softmax and log-softmax over one dim: the CPU reference for cuda/softmax.cu, and the device dispatch.
//
// The tensor is read as a contiguous [outer, n, inner] (the dim in the middle), as tensor/reduce.cpp
// does, so one loop serves every dim. The max and the sum of exponentials are taken in double.
// causal_softmax and its backward read the tensor as contiguous rows of Tk, row r being query r % Tq.
// Not here: the backward passes of softmax and log_softmax (autograd/ops_nn.cpp), the fused
// cross-entropy (tensor/loss.cpp).
#include "tensor/softmax.h"

#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/runtime.h"
#include "cuda/softmax.h"
#endif

#include <cmath>
#include <limits>

namespace lab {

namespace {

template <typename T> void softmax_cpu(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool log_softmax) {
#pragma omp parallel for collapse(2) if (outer * n * inner >= kParallelGrain)
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const T* p = x + o * n * inner + i;
      T* q = out + o * n * inner + i;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < n; k++) m = double(p[k * inner]) > m ? double(p[k * inner]) : m;
      // s = sum_k exp(x_k - m): every term is at most 1, so nothing overflows.
      double s = 0;
      for (int64_t k = 0; k < n; k++) s += std::exp(double(p[k * inner]) - m);
      // softmax_k = exp(x_k - m) / s,  log_softmax_k = x_k - m - log(s)
      const double log_s = std::log(s);
      for (int64_t k = 0; k < n; k++)
        q[k * inner] = T(log_softmax ? double(p[k * inner]) - m - log_s : std::exp(double(p[k * inner]) - m) / s);
    }
}

Tensor softmax_impl(const Tensor& input, int64_t dim, bool log_softmax) {
  const char* what = log_softmax ? "log_softmax" : "softmax";
  LAB_CHECK(input.defined(), "{}: undefined tensor", what);
  LAB_CHECK(input.dtype() == DType::f32 || input.dtype() == DType::f64,
            "{}: supports f32 and f64, got {} (HINT: cast with .to(DType::f32))", what, dtype_name(input.dtype()));
  dim = normalize_dim(dim, input.dim(), what);
  // A scalar is a softmax over one element.
  const Tensor x = input.dim() == 0 ? input.reshape({1}).contiguous() : input.contiguous();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; d++) outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); d++) inner *= x.size(d);
  const int64_t n = x.size(dim);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) {
    if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
      cuda::set_device(x.device().index);
      if (x.dtype() == DType::f32) cuda::softmax_f32(out.data<float>(), x.data<float>(), outer, n, inner, log_softmax);
      else cuda::softmax_f64(out.data<double>(), x.data<double>(), outer, n, inner, log_softmax);
#endif
    } else if (x.dtype() == DType::f32) {
      softmax_cpu(out.data<float>(), x.data<float>(), outer, n, inner, log_softmax);
    } else {
      softmax_cpu(out.data<double>(), x.data<double>(), outer, n, inner, log_softmax);
    }
  }
  return input.dim() == 0 ? out.reshape({}) : out;
}

// Row r of `rows` (each of tk keys) is query r % tq, and sees its first r % tq + (tk - tq) + 1 keys.
inline int64_t visible_keys(int64_t row, int64_t tq, int64_t tk) { return row % tq + (tk - tq) + 1; }

// Rows in parallel once the elements (not the rows: attention has few rows of many keys) are enough.
template <typename T> void causal_softmax_cpu(T* y, const T* x, int64_t rows, int64_t tq, int64_t tk) {
#pragma omp parallel for if (rows * tk >= kParallelGrain)
  for (int64_t r = 0; r < rows; r++) {
    const T* p = x + r * tk;
    T* q = y + r * tk;
    const int64_t n = visible_keys(r, tq, tk);
    // m = max over the visible keys only: a large future score must not shift the row.
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < n; k++) m = double(p[k]) > m ? double(p[k]) : m;
    // e_k = exp(x_k - m) in T (expf for f32: this exp is a tenth of a training step), written once;
    // s = sum_{k visible} e_k, accumulated in double
    const T mt = T(m);
    double s = 0;
    for (int64_t k = 0; k < n; k++) {
      const T e = std::exp(p[k] - mt);
      q[k] = e;
      s += double(e);
    }
    // y_k = e_k / s for visible k, 0 for the rest
    const T inv_s = T(1.0 / s);
    for (int64_t k = 0; k < n; k++) q[k] *= inv_s;
    for (int64_t k = n; k < tk; k++) q[k] = T(0);
  }
}

template <typename T> void causal_softmax_backward_cpu(T* dx, const T* y, const T* g, int64_t rows, int64_t tq, int64_t tk) {
#pragma omp parallel for if (rows * tk >= kParallelGrain)
  for (int64_t r = 0; r < rows; r++) {
    const T* yr = y + r * tk;
    const T* gr = g + r * tk;
    T* d = dx + r * tk;
    const int64_t n = visible_keys(r, tq, tk);
    // dot = sum_{j visible} g_j y_j
    double dot = 0;
    for (int64_t k = 0; k < n; k++) dot += double(gr[k]) * double(yr[k]);
    // dx_j = y_j (g_j - dot) for visible j, 0 for the rest
    for (int64_t k = 0; k < n; k++) d[k] = T(double(yr[k]) * (double(gr[k]) - dot));
    for (int64_t k = n; k < tk; k++) d[k] = T(0);
  }
}

// The checks both directions share: f32/f64, at least 2 dims, Tk >= Tq.
void check_causal(const Tensor& t, const char* what, const char* name) {
  LAB_CHECK(t.defined(), "{}: undefined tensor {}", what, name);
  LAB_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64,
            "{}: {} must be f32 or f64, got {} (HINT: cast with .to(DType::f32))", what, name, dtype_name(t.dtype()));
  LAB_CHECK(t.dim() >= 2, "{}: {} must be [..., Tq, Tk] (at least 2 dims), got shape {} (HINT: scores = q @ k^T)",
            what, name, shape_str(t.shape()));
  LAB_CHECK(t.size(-1) >= t.size(-2),
            "{}: {} of shape {} has Tk = {} keys for Tq = {} queries, expected Tk >= Tq (HINT: the queries are the "
            "last Tq positions of the Tk keys; pass scores as [..., Tq, Tk], not transposed)",
            what, name, shape_str(t.shape()), t.size(-1), t.size(-2));
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

Tensor causal_softmax(const Tensor& scores) {
  check_causal(scores, "causal_softmax", "scores");
  const Tensor x = scores.contiguous();
  const int64_t tq = x.size(-2), tk = x.size(-1);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  const int64_t rows = y.numel() / tk;
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    if (x.dtype() == DType::f32) cuda::causal_softmax_f32(y.data<float>(), x.data<float>(), rows, tq, tk);
    else cuda::causal_softmax_f64(y.data<double>(), x.data<double>(), rows, tq, tk);
#endif
  } else if (x.dtype() == DType::f32) {
    causal_softmax_cpu(y.data<float>(), x.data<float>(), rows, tq, tk);
  } else {
    causal_softmax_cpu(y.data<double>(), x.data<double>(), rows, tq, tk);
  }
  return y;
}

Tensor causal_softmax_backward(const Tensor& y_in, const Tensor& g_in) {
  check_causal(y_in, "causal_softmax_backward", "y");
  LAB_CHECK(g_in.defined() && g_in.shape() == y_in.shape() && g_in.dtype() == y_in.dtype() && g_in.device() == y_in.device(),
            "causal_softmax_backward: gradient must match y ({} {} on {}), got {} (HINT: g is the gradient of y)",
            shape_str(y_in.shape()), dtype_name(y_in.dtype()), y_in.device().str(),
            g_in.defined() ? fmt::format("{} {} on {}", shape_str(g_in.shape()), dtype_name(g_in.dtype()), g_in.device().str())
                           : std::string("an undefined tensor"));
  const Tensor y = y_in.contiguous(), g = g_in.contiguous();
  const int64_t tq = y.size(-2), tk = y.size(-1);
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  if (dx.numel() == 0) return dx;
  const int64_t rows = dx.numel() / tk;
  if (y.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(y.device().index);
    if (y.dtype() == DType::f32)
      cuda::causal_softmax_backward_f32(dx.data<float>(), y.data<float>(), g.data<float>(), rows, tq, tk);
    else
      cuda::causal_softmax_backward_f64(dx.data<double>(), y.data<double>(), g.data<double>(), rows, tq, tk);
#endif
  } else if (y.dtype() == DType::f32) {
    causal_softmax_backward_cpu(dx.data<float>(), y.data<float>(), g.data<float>(), rows, tq, tk);
  } else {
    causal_softmax_backward_cpu(dx.data<double>(), y.data<double>(), g.data<double>(), rows, tq, tk);
  }
  return dx;
}

}  // namespace lab
