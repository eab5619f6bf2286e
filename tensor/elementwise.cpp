// CPU elementwise kernels and the device dispatch for every op in elementwise.h.
//
// One loop per arity: a contiguous fast path (plain loop, OpenMP when large) and the strided path
// (for_each_strided, which also does broadcasting through stride 0). bf16/f16 are computed in
// float, integers in their own type. Two f32 paths that a training step spends its time in are
// written to vectorize: gelu / gelu_grad, and add/sub/mul/div of whole or row-repeated operands.
#include "tensor/elementwise.h"

#include "cuda/elementwise_ops.h"
#include "tensor/cuda_bridge.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/elementwise.h"
#include "cuda/runtime.h"
#endif

#include <algorithm>
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

// --- gelu and gelu_grad on contiguous f32: the MLP's activation, a quarter of a CPU training step
// when it calls std::tanh element by element. The same formulas as cuda/elementwise_ops.h, with a
// rational tanh so that the loop vectorizes, compiled for AVX-512, AVX2 and the baseline in one
// binary (target_clones: the loader picks the best the CPU runs). Its clamp is a vector select only
// under -fno-trapping-math (CMakeLists.txt): without it GCC keeps the AVX2 loop scalar, 8.7x slower.

// tanh(x) ~ x P(x^2) / Q(x^2) on x clamped to [-7.9053, 7.9053] (where tanh rounds to +-1 in f32),
// Eigen's generic_fast_tanh_float (a [13/6] minimax rational): at most 4e-7 from tanh in f32.
static inline float tanh_rational(float x) {
  const float c = 7.90531110763549805f;
  const float xc = x > c ? c : (x < -c ? -c : x);
  const float x2 = xc * xc;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return xc * p / q;
}

#if defined(__x86_64__) && !defined(__clang__)
#define LAB_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LAB_SIMD_CLONES
#endif

LAB_SIMD_CLONES static void gelu_f32_range(const float* x, float* y, int64_t n, bool grad) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  if (!grad) {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i];
      y[i] = 0.5f * v * (1.0f + tanh_rational(k * (v + 0.044715f * v * v * v)));
    }
  } else {
    // 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  t = tanh(sqrt(2/pi) (x + 0.044715 x^3))
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i];
      const float t = tanh_rational(k * (v + 0.044715f * v * v * v));
      y[i] = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * v * v);
    }
  }
}

static void gelu_f32(const float* x, float* y, int64_t n, bool grad) {
  constexpr int64_t chunk = 16384;
  const int64_t nchunks = (n + chunk - 1) / chunk;
#pragma omp parallel for if (nchunks > 1)
  for (int64_t c = 0; c < nchunks; c++) gelu_f32_range(x + c * chunk, y + c * chunk, std::min(chunk, n - c * chunk), grad);
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
  if ((op == UnaryOp::gelu || op == UnaryOp::gelu_grad) && x.dtype() == DType::f32 && x.is_contiguous()) {
    gelu_f32(x.data<float>(), out.data<float>(), x.numel(), op == UnaryOp::gelu_grad);
    return out;
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

// --- add, sub, mul, div on f32 where each operand is the whole output (contiguous) or a contiguous
// suffix of it repeated over the leading dims (a bias [C] against activations [B, T, C]): a plain
// loop per op, which the compiler vectorizes, instead of a switch on the op per element (and, for
// the bias, instead of the strided odometer).

// The number of trailing output elements t repeats, or 0 if t is not a contiguous suffix of `shape`.
static int64_t suffix_extent(const Tensor& t, const Shape& shape) {
  if (!t.is_contiguous() || t.dim() > int64_t(shape.size())) return 0;
  int64_t d = 0;
  while (d < t.dim() && t.size(d) == 1) d++;  // leading 1s broadcast
  const int64_t lead = int64_t(shape.size()) - t.dim();
  for (int64_t k = d; k < t.dim(); k++)
    if (t.size(k) != shape[size_t(lead + k)]) return 0;
  return t.numel();
}

// o[r, j] = f(a[r * a_row + j], b[r * b_row + j]) for n elements in rows of `inner` (a_row, b_row: inner or 0).
template <typename F>
static void rows_loop(F f, const float* a, int64_t a_row, const float* b, int64_t b_row, float* o, int64_t n, int64_t inner) {
  const int64_t rows = (n + inner - 1) / inner;
#pragma omp parallel for if (n >= kParallelGrain)
  for (int64_t r = 0; r < rows; r++) {
    const float* ar = a + r * a_row;
    const float* br = b + r * b_row;
    float* orow = o + r * inner;
    const int64_t len = std::min(inner, n - r * inner);
    for (int64_t j = 0; j < len; j++) orow[j] = f(ar[j], br[j]);
  }
}

static bool binary_f32_fast(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (a.dtype() != DType::f32 || !(op == BinaryOp::add || op == BinaryOp::sub || op == BinaryOp::mul || op == BinaryOp::div)) return false;
  const Shape& shape = out.shape();
  const int64_t n = out.numel();
  const int64_t ea = suffix_extent(a, shape), eb = suffix_extent(b, shape);
  if (ea == 0 || eb == 0 || (ea != n && eb != n) || std::min(ea, eb) < 16) return false;  // short rows: the odometer is as fast
  // Both whole: rows of 4096 elements (chunks for the threads); one repeated: rows of its extent.
  const int64_t inner = ea == n && eb == n ? std::min<int64_t>(n, 4096) : std::min(ea, eb);
  const int64_t a_row = ea == n ? inner : 0, b_row = eb == n ? inner : 0;
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* o = out.data<float>();
  switch (op) {
  case BinaryOp::add: rows_loop([](float x, float y) { return x + y; }, pa, a_row, pb, b_row, o, n, inner); break;
  case BinaryOp::sub: rows_loop([](float x, float y) { return x - y; }, pa, a_row, pb, b_row, o, n, inner); break;
  case BinaryOp::mul: rows_loop([](float x, float y) { return x * y; }, pa, a_row, pb, b_row, o, n, inner); break;
  default: rows_loop([](float x, float y) { return x / y; }, pa, a_row, pb, b_row, o, n, inner); break;
  }
  return true;
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
  if (binary_f32_fast(op, a, b, out)) return out;
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
