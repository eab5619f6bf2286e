// Softmax and log-softmax over one dim: the CPU reference for cuda/softmax.cu, and the device dispatch.
//
// The tensor is read as a contiguous [outer, n, inner] (the dim in the middle), as tensor/reduce.cpp
// does, so one loop serves every dim. The max and the sum of exponentials are taken in double.
// Not here: the backward passes (autograd/ops_nn.cpp), the fused cross-entropy (tensor/loss.cpp).
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

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace lab
