// LayerNorm over the last dim: the CPU reference for cuda/layer_norm.cu, and the device dispatch.
//
// x is read as a contiguous [rows, C]. The CPU takes each row's mean and variance in double, two
// passes (mean first, then the squared deviations), and sums dweight/dbias over rows in double.
// The formulas are in tensor/layer_norm.h. Not here: the autograd node (autograd/ops_nn.cpp).
#include "tensor/layer_norm.h"

#include "tensor/op_checks.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/layer_norm.h"
#include "cuda/runtime.h"
#endif

#include <cmath>
#include <vector>

namespace lab {

namespace {

// t must be defined, of `shape`, with x's dtype and device.
void check_like(const char* what, const char* name, const Tensor& t, const Shape& shape, const Tensor& x) {
  LAB_CHECK(t.defined(), "{}: {} is undefined", what, name);
  LAB_CHECK(t.shape() == shape, "{}: expected {} of shape {} for x of shape {}, got {}", what, name, shape_str(shape),
            shape_str(x.shape()), shape_str(t.shape()));
  LAB_CHECK(t.dtype() == x.dtype(), "{}: {} is {} but x is {} (HINT: .to(DType::{}))", what, name, dtype_name(t.dtype()),
            dtype_name(x.dtype()), dtype_name(x.dtype()));
  LAB_CHECK(t.device() == x.device(), "{}: {} on {} but x on {} (HINT: .to(Device) one of them)", what, name, t.device().str(),
            x.device().str());
}

// A pointer to a parameter's data, or null when it is undefined.
template <typename T> const T* data_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <typename T> T* mutable_data_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

template <typename T>
void forward_cpu(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t rows, int64_t C, double eps) {
#pragma omp parallel for if (rows * C >= kParallelGrain)
  for (int64_t r = 0; r < rows; r++) {
    const T* xr = x + r * C;
    // mean = (1/C) sum_c x_c
    double m = 0;
    for (int64_t c = 0; c < C; c++) m += double(xr[c]);
    m /= double(C);
    // rstd = 1 / sqrt((1/C) sum_c (x_c - mean)^2 + eps)
    double var = 0;
    for (int64_t c = 0; c < C; c++) var += (double(xr[c]) - m) * (double(xr[c]) - m);
    const double rs = 1.0 / std::sqrt(var / double(C) + eps);
    // y = (x - mean) * rstd * weight + bias
    for (int64_t c = 0; c < C; c++)
      y[r * C + c] = T((double(xr[c]) - m) * rs * (weight ? double(weight[c]) : 1.0) + (bias ? double(bias[c]) : 0.0));
    mean[r] = T(m);
    rstd[r] = T(rs);
  }
}

template <typename T>
void backward_cpu(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* mean, const T* rstd, const T* weight, int64_t rows,
                  int64_t C) {
#pragma omp parallel for if (rows * C >= kParallelGrain)
  for (int64_t r = 0; r < rows; r++) {
    const double m = double(mean[r]), rs = double(rstd[r]);
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
    // With g = dy * weight: the row means of g and of g * xhat.
    double mean_g = 0, mean_gx = 0;
    for (int64_t c = 0; c < C; c++) {
      const double g = double(dyr[c]) * (weight ? double(weight[c]) : 1.0);
      mean_g += g;
      mean_gx += g * (double(xr[c]) - m) * rs;
    }
    mean_g /= double(C), mean_gx /= double(C);
    // dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
    for (int64_t c = 0; c < C; c++) {
      const double g = double(dyr[c]) * (weight ? double(weight[c]) : 1.0);
      dx[r * C + c] = T(rs * (g - mean_g - (double(xr[c]) - m) * rs * mean_gx));
    }
  }
  if (!dweight && !dbias) return;
  // dweight = sum_rows dy * xhat,  dbias = sum_rows dy  (row by row, in double)
  std::vector<double> dw(size_t(C), 0.0), db(size_t(C), 0.0);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < C; c++) {
      dw[c] += double(dy[r * C + c]) * (double(x[r * C + c]) - double(mean[r])) * double(rstd[r]);
      db[c] += double(dy[r * C + c]);
    }
  for (int64_t c = 0; c < C; c++) {
    if (dweight) dweight[c] = T(dw[c]);
    if (dbias) dbias[c] = T(db[c]);
  }
}

}  // namespace

LayerNormForward layer_norm_forward(const Tensor& x_in, const Tensor& weight, const Tensor& bias, double eps) {
  const char* what = "layer_norm_forward";
  check_float(what, "x", x_in);
  LAB_CHECK(x_in.dim() >= 1 && x_in.size(-1) > 0, "{}: x must have a last dim of size at least 1, got shape {}", what,
            shape_str(x_in.shape()));
  const Tensor x = x_in.contiguous();
  const int64_t C = x.size(-1), rows = x.numel() / C;
  if (weight.defined()) check_like(what, "weight", weight, {C}, x);
  if (bias.defined()) check_like(what, "bias", bias, {C}, x);
  LayerNormForward out{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty({rows}, x.dtype(), x.device()),
                       Tensor::empty({rows}, x.dtype(), x.device())};
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor(), b = bias.defined() ? bias.contiguous() : Tensor();
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    if (x.dtype() == DType::f32)
      cuda::layer_norm_forward_f32(out.y.data<float>(), out.mean.data<float>(), out.rstd.data<float>(), x.data<float>(),
                                   data_or_null<float>(w), data_or_null<float>(b), rows, C, float(eps));
    else
      cuda::layer_norm_forward_f64(out.y.data<double>(), out.mean.data<double>(), out.rstd.data<double>(), x.data<double>(),
                                   data_or_null<double>(w), data_or_null<double>(b), rows, C, eps);
    return out;
#endif
  }
  if (x.dtype() == DType::f32)
    forward_cpu(out.y.data<float>(), out.mean.data<float>(), out.rstd.data<float>(), x.data<float>(), data_or_null<float>(w),
                data_or_null<float>(b), rows, C, eps);
  else
    forward_cpu(out.y.data<double>(), out.mean.data<double>(), out.rstd.data<double>(), x.data<double>(), data_or_null<double>(w),
                data_or_null<double>(b), rows, C, eps);
  return out;
}

LayerNormBackward layer_norm_backward(const Tensor& dy_in, const Tensor& x_in, const Tensor& mean_in, const Tensor& rstd_in,
                                      const Tensor& weight, bool has_bias) {
  const char* what = "layer_norm_backward";
  check_float(what, "x", x_in);
  LAB_CHECK(x_in.dim() >= 1 && x_in.size(-1) > 0, "{}: x must have a last dim of size at least 1, got shape {}", what,
            shape_str(x_in.shape()));
  const int64_t C = x_in.size(-1), rows = x_in.numel() / C;
  check_like(what, "dy", dy_in, x_in.shape(), x_in);
  check_like(what, "mean", mean_in, {rows}, x_in);
  check_like(what, "rstd", rstd_in, {rows}, x_in);
  if (weight.defined()) check_like(what, "weight", weight, {C}, x_in);
  const Tensor dy = dy_in.contiguous(), x = x_in.contiguous(), mean = mean_in.contiguous(), rstd = rstd_in.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  LayerNormBackward out;
  out.dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (weight.defined()) out.dweight = Tensor::empty({C}, x.dtype(), x.device());
  if (has_bias) out.dbias = Tensor::empty({C}, x.dtype(), x.device());
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    if (x.dtype() == DType::f32)
      cuda::layer_norm_backward_f32(out.dx.data<float>(), mutable_data_or_null<float>(out.dweight), mutable_data_or_null<float>(out.dbias),
                                    dy.data<float>(), x.data<float>(), mean.data<float>(), rstd.data<float>(), data_or_null<float>(w),
                                    rows, C);
    else
      cuda::layer_norm_backward_f64(out.dx.data<double>(), mutable_data_or_null<double>(out.dweight),
                                    mutable_data_or_null<double>(out.dbias), dy.data<double>(), x.data<double>(),
                                    mean.data<double>(), rstd.data<double>(), data_or_null<double>(w), rows, C);
    return out;
#endif
  }
  if (x.dtype() == DType::f32)
    backward_cpu(out.dx.data<float>(), mutable_data_or_null<float>(out.dweight), mutable_data_or_null<float>(out.dbias), dy.data<float>(),
                 x.data<float>(), mean.data<float>(), rstd.data<float>(), data_or_null<float>(w), rows, C);
  else
    backward_cpu(out.dx.data<double>(), mutable_data_or_null<double>(out.dweight), mutable_data_or_null<double>(out.dbias),
                 dy.data<double>(), x.data<double>(), mean.data<double>(), rstd.data<double>(), data_or_null<double>(w), rows, C);
  return out;
}

}  // namespace lab
