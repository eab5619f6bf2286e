// The math of every elementwise op, written once: the CPU loops in tensor/elementwise.cpp and the
// GPU kernels in cuda/elementwise.cu both call apply_unary / apply_binary, so the two devices
// cannot disagree on a formula; the GPU tests then check what differs (indexing, broadcasting,
// launch bounds). Plain C++ when not compiled by nvcc.
//
// T is the compute type: float or double (bf16/f16 are loaded to float first; integers use the
// ops tensor/elementwise.cpp allows for them).
#pragma once

#include <cmath>

#ifdef __CUDACC__
#define LAB_HOST_DEVICE __host__ __device__
#else
#define LAB_HOST_DEVICE
#endif

namespace lab::cuda {

// `param` is the scalar of the *_scalar ops and ignored by the others.
// relu_grad and gelu_grad are the derivatives, for the backward passes in autograd/.
enum class UnaryOp { neg, abs, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, gelu, add_scalar, mul_scalar, pow_scalar, relu_grad, gelu_grad };
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };

template <typename T>
LAB_HOST_DEVICE inline T apply_unary(UnaryOp op, T x, T param) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return x < T(0) ? -x : x;
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return T(1) / std::sqrt(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return T(1) / (T(1) + std::exp(-x));
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    // GPT-2's GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    case UnaryOp::gelu: return T(0.5) * x * (T(1) + std::tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x)));
    // d relu / dx = 1 where x > 0 (0 at 0, as PyTorch)
    case UnaryOp::relu_grad: return x > T(0) ? T(1) : T(0);
    // d gelu / dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  u = sqrt(2/pi) (x + 0.044715 x^3)
    case UnaryOp::gelu_grad: {
      const T k = T(0.7978845608028654);
      const T t = std::tanh(k * (x + T(0.044715) * x * x * x));
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k * (T(1) + T(3) * T(0.044715) * x * x);
    }
    case UnaryOp::add_scalar: return x + param;
    case UnaryOp::mul_scalar: return x * param;
    case UnaryOp::pow_scalar: return std::pow(x, param);
  }
  return x;
}

// Integer-safe subset: the ops tensor/elementwise.cpp allows on i8/u8/i32/i64.
template <typename T>
LAB_HOST_DEVICE inline T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return std::pow(a, b);
    // NaN propagates, as torch.maximum / torch.minimum do.
    case BinaryOp::maximum: return (a != a || a > b) ? a : b;
    case BinaryOp::minimum: return (a != a || a < b) ? a : b;
  }
  return a;
}

}  // namespace lab::cuda
