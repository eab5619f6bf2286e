// CPU elementwise kernels and the device dispatch for every op in elementwise.h.
//
// One loop per arity: a contiguous fast path (plain loop, OpenMP when large) and the strided path
// (for_each_strided, which also does broadcasting through stride 0). bf16/f16 are computed in
// float, integers in their own type.
#include "tensor/elementwise.h"

#include "cuda/elementwise_ops.h"
#include "tensor/cuda_bridge.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/elementwise.h"
#include "cuda/runtime.h"
#endif

#include <type_traits>

namespace lab {

using cuda::BinaryOp;
using cuda::UnaryOp;

static const char* unary_name(UnaryOp op) {
  static const char* names[] = {"neg", "abs", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "gelu", "add", "mul", "pow", "relu_grad", "gelu_grad"};
  return names[int(op)];
}
static const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"};
  return names[int(op)];
}

// Integers get the ops that are exact on integers; the rest need a float.
static bool integer_ok(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::relu || op == UnaryOp::add_scalar || op == UnaryOp::mul_scalar;
}
static bool integer_ok(BinaryOp op) {
  return op == BinaryOp::add || op == BinaryOp::sub || op == BinaryOp::mul || op == BinaryOp::maximum || op == BinaryOp::minimum;
}

static Tensor unary(UnaryOp op, const Tensor& x, double param) {
  LAB_CHECK(x.defined(), "{}: undefined tensor", unary_name(op));
  LAB_CHECK(is_floating(x.dtype()) || integer_ok(op), "{}: needs a floating-point tensor, got {} (HINT: .to(DType::f32))",
            unary_name(op), dtype_name(x.dtype()));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    if (x.dtype() == DType::f32)
      cuda::unary_f32(op, out.data<float>(), x.data<float>(), to_layout(x), float(param));
    else if (x.dtype() == DType::f64)
      cuda::unary_f64(op, out.data<double>(), x.data<double>(), to_layout(x), param);
    else
      LAB_CUDA_DTYPE_ERROR(unary_name(op), x.dtype());
    return out;
#endif
  }
  LAB_DISPATCH_DTYPE(x.dtype(), T, {
    using C = compute_t<T>;
    if constexpr (std::is_floating_point_v<C> || std::is_signed_v<C>) {
      const C p = C(param);
      const T* in = static_cast<const T*>(x.raw_data());
      T* o = out.data<T>();
      auto f = [&](T v) { return store_from_compute<T>(cuda::apply_unary<C>(op, load_as_compute(v), p)); };
      if (x.is_contiguous()) {
        int64_t n = x.numel();
parallel_for(n, [&](int64_t i) { o[i] = f(in[i]); });
      } else {
        const Strides& os = out.strides();
        for_each_strided<2>(x.shape(), {os.data(), x.strides().data()}, [&](int64_t io, int64_t ix) { o[io] = f(in[ix]); });
      }
    } else {
      LAB_FAIL("{}: not defined for unsigned dtype {}", unary_name(op), dtype_name(x.dtype()));
    }
  });
  return out;
}

static Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  LAB_CHECK(a.defined() && b.defined(), "{}: undefined tensor", name);
  LAB_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ: {} and {} (HINT: convert one with .to(DType::{}))", name,
            dtype_name(a.dtype()), dtype_name(b.dtype()), dtype_name(a.dtype()));
  LAB_CHECK(a.device() == b.device(), "{}: tensors on different devices: {} and {} (HINT: .to(Device) one of them)", name,
            a.device().str(), b.device().str());
  LAB_CHECK(is_floating(a.dtype()) || integer_ok(op), "{}: needs floating-point tensors, got {} (HINT: .to(DType::f32))", name,
            dtype_name(a.dtype()));
  Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  if (a.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(a.device().index);
    if (a.dtype() == DType::f32)
      cuda::binary_f32(op, out.data<float>(), a.data<float>(), to_layout(a, shape), b.data<float>(), to_layout(b, shape));
    else if (a.dtype() == DType::f64)
      cuda::binary_f64(op, out.data<double>(), a.data<double>(), to_layout(a, shape), b.data<double>(), to_layout(b, shape));
    else
      LAB_CUDA_DTYPE_ERROR(name, a.dtype());
    return out;
#endif
  }
  LAB_DISPATCH_DTYPE(a.dtype(), T, {
    using C = compute_t<T>;
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* o = out.data<T>();
    auto f = [&](T x, T y) { return store_from_compute<T>(cuda::apply_binary<C>(op, load_as_compute(x), load_as_compute(y))); };
    if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous()) {
      int64_t n = out.numel();
parallel_for(n, [&](int64_t i) { o[i] = f(pa[i], pb[i]); });
    } else {
      Strides sa = broadcast_strides(a.shape(), a.strides(), shape);
      Strides sb = broadcast_strides(b.shape(), b.strides(), shape);
      const Strides& so = out.strides();
      for_each_strided<3>(shape, {so.data(), sa.data(), sb.data()},
                          [&](int64_t io, int64_t ia, int64_t ib) { o[io] = f(pa[ia], pb[ib]); });
    }
  });
  return out;
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x, 0); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::abs, x, 0); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x, 0); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x, 0); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x, 0); }
Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::rsqrt, x, 0); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x, 0); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x, 0); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x, 0); }
Tensor gelu(const Tensor& x) { return unary(UnaryOp::gelu, x, 0); }
Tensor relu_grad(const Tensor& x) { return unary(UnaryOp::relu_grad, x, 0); }
Tensor gelu_grad(const Tensor& x) { return unary(UnaryOp::gelu_grad, x, 0); }
Tensor pow(const Tensor& x, double exponent) { return unary(UnaryOp::pow_scalar, x, exponent); }
Tensor add(const Tensor& a, double s) { return unary(UnaryOp::add_scalar, a, s); }
Tensor mul(const Tensor& a, double s) { return unary(UnaryOp::mul_scalar, a, s); }

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::minimum, a, b); }

}  // namespace lab
