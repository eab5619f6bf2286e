// int8 quantization on the CPU (the scalar reference codec, run once per group, groups in parallel)
// and the dispatch to cuda/int8.cu for tensors on the GPU; the error metrics.
// Math and layout: quant/int8.h; the per-element formulas: cuda/int8_ops.h.
#include "quant/int8.h"

#include "cuda/int8_ops.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/int8.h"
#include "cuda/runtime.h"
#endif

#include <algorithm>
#include <cmath>

namespace lab::quant {

namespace i8 = lab::cuda::int8;

const char* scheme_name(Int8Scheme s) { return s == Int8Scheme::absmax ? "absmax" : "zero-point"; }
const char* granularity_name(Granularity g) {
  switch (g) {
    case Granularity::per_tensor: return "per-tensor";
    case Granularity::per_row: return "per-row";
    case Granularity::per_block: return "per-block";
  }
  LAB_UNREACHABLE();
}

size_t Int8Tensor::nbytes() const {
  return (q.defined() ? q.nbytes() : 0) + (scale.defined() ? scale.nbytes() : 0) + (zero_point.defined() ? zero_point.nbytes() : 0);
}

// --- the scalar reference codec

float quantize_absmax_ref(const float* x, int64_t n, int8_t* q) {
  float absmax = 0;
  for (int64_t i = 0; i < n; i++) absmax = i8::absmax_step(absmax, x[i]);
  const float inverse = i8::absmax_inverse(absmax);
  for (int64_t i = 0; i < n; i++) q[i] = i8::quantize_absmax(x[i], inverse);
  return absmax;
}

void quantize_zero_point_ref(const float* x, int64_t n, int8_t* q, float* scale, int8_t* zero_point) {
  float lo = 0, hi = 0;  // the range always holds 0
  for (int64_t i = 0; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  const i8::ZeroPointParams p = i8::zero_point_params(lo, hi);
  for (int64_t i = 0; i < n; i++) q[i] = i8::quantize_zero_point(x[i], p);
  *scale = p.scale;
  *zero_point = int8_t(p.zero_point);
}

void dequantize_ref(const int8_t* q, int64_t n, float scale, int zero_point, float* out) {
  for (int64_t i = 0; i < n; i++) out[i] = i8::dequantize(q[i], zero_point, scale);
}

// --- tensors

static int64_t group_size_of(const Tensor& x, Granularity g, int64_t block_size) {
  if (g == Granularity::per_tensor) return std::max<int64_t>(x.numel(), 1);
  LAB_CHECK(x.dim() >= 1, "quantize_int8 {}: needs a tensor with at least one dim, got a scalar (HINT: use per_tensor, or reshape({{1}}))",
            granularity_name(g));
  const int64_t cols = x.size(-1);
  if (g == Granularity::per_row) return std::max<int64_t>(cols, 1);
  LAB_CHECK(block_size > 0, "quantize_int8 per-block: block_size must be positive, got {}", block_size);
  LAB_CHECK(cols % block_size == 0,
            "quantize_int8 per-block: block_size {} does not divide the last dim {} of shape {} (a block may not straddle two rows; "
            "HINT: pick a divisor of {}, or use per_row)",
            block_size, cols, shape_str(x.shape()), cols);
  return block_size;
}

Int8Tensor quantize_int8(const Tensor& x_in, Int8Scheme scheme, Granularity granularity, int64_t block_size) {
  LAB_CHECK(x_in.defined(), "quantize_int8: undefined tensor");
  LAB_CHECK(is_floating(x_in.dtype()), "quantize_int8: needs a floating-point tensor, got {} (HINT: .to(DType::f32))",
            dtype_name(x_in.dtype()));
  const Tensor x = x_in.to(DType::f32).contiguous();
  Int8Tensor t;
  t.scheme = scheme;
  t.granularity = granularity;
  t.group_size = group_size_of(x, granularity, block_size);
  const int64_t n = x.numel(), groups = n / t.group_size;
  const Device device = x.device();
  t.q = Tensor::empty(x.shape(), DType::i8, device);
  t.scale = Tensor::empty({groups}, DType::f32, device);
  if (scheme == Int8Scheme::zero_point) t.zero_point = Tensor::empty({groups}, DType::i8, device);
  if (groups == 0) return t;
  const float* px = x.data<float>();
  int8_t* pq = t.q.data<int8_t>();
  float* ps = t.scale.data<float>();
  int8_t* pz = scheme == Int8Scheme::zero_point ? t.zero_point.data<int8_t>() : nullptr;
  const int64_t gs = t.group_size;

  if (device.is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(device.index);
    if (scheme == Int8Scheme::absmax) cuda::int8_quantize_absmax(pq, nullptr, ps, px, groups, gs);
    else cuda::int8_quantize_zero_point(pq, ps, pz, px, groups, gs);
    return t;
#endif
  }
#pragma omp parallel for if (n >= kParallelGrain && groups > 1)
  for (int64_t g = 0; g < groups; g++) {
    if (scheme == Int8Scheme::absmax) ps[g] = i8::absmax_scale(quantize_absmax_ref(px + g * gs, gs, pq + g * gs));
    else quantize_zero_point_ref(px + g * gs, gs, pq + g * gs, ps + g, pz + g);
  }
  return t;
}

Tensor dequantize(const Int8Tensor& t) {
  LAB_CHECK(t.q.defined() && t.scale.defined(), "dequantize: the Int8Tensor has no codes or no scales");
  LAB_CHECK(t.q.dtype() == DType::i8, "dequantize: codes must be i8, got {}", dtype_name(t.q.dtype()));
  LAB_CHECK(t.scale.dtype() == DType::f32, "dequantize: scales must be f32, got {}", dtype_name(t.scale.dtype()));
  const bool zp = t.zero_point.defined();
  LAB_CHECK(zp == (t.scheme == Int8Scheme::zero_point), "dequantize: a {} tensor {} zero points", scheme_name(t.scheme),
            zp ? "must not have" : "needs");
  LAB_CHECK(!zp || t.zero_point.dtype() == DType::i8, "dequantize: zero points must be i8, got {}", dtype_name(t.zero_point.dtype()));
  const int64_t n = t.q.numel(), gs = t.group_size;
  LAB_CHECK(gs > 0 && n % gs == 0 && t.scale.numel() == n / gs && (!zp || t.zero_point.numel() == n / gs),
            "dequantize: {} codes in groups of {} need {} scales{}, found {}", n, gs, gs > 0 ? n / gs : 0, zp ? " and zero points" : "",
            t.scale.numel());
  const Tensor q = t.q.contiguous(), scale = t.scale.contiguous(), zero = zp ? t.zero_point.contiguous() : Tensor();
  Tensor out = Tensor::empty(q.shape(), DType::f32, q.device());
  if (n == 0) return out;
  const int8_t* pq = q.data<int8_t>();
  const float* ps = scale.data<float>();
  const int8_t* pz = zp ? zero.data<int8_t>() : nullptr;
  float* po = out.data<float>();
  if (q.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(q.device().index);
    cuda::int8_dequantize(po, pq, ps, pz, n / gs, gs);
    return out;
#endif
  }
  // group by group, so that no element pays for an integer division to find its group
#pragma omp parallel for if (n >= kParallelGrain && n / gs > 1)
  for (int64_t g = 0; g < n / gs; g++) dequantize_ref(pq + g * gs, gs, ps[g], pz ? pz[g] : 0, po + g * gs);
  return out;
}

QuantError quant_error(const Tensor& original, const Tensor& reconstructed) {
  LAB_CHECK(original.defined() && reconstructed.defined(), "quant_error: undefined tensor");
  LAB_CHECK(original.shape() == reconstructed.shape(), "quant_error: shapes {} and {} differ", shape_str(original.shape()),
            shape_str(reconstructed.shape()));
  const std::vector<double> a = original.to_vector<double>(), b = reconstructed.to_vector<double>();
  QuantError e;
  double sq = 0, norm = 0;
  for (size_t i = 0; i < a.size(); i++) {
    const double d = a[i] - b[i];
    e.max_abs = std::max(e.max_abs, std::fabs(d));
    sq += d * d;
    norm += a[i] * a[i];
  }
  // rmse = sqrt(sum d^2 / n),  rel_frobenius = sqrt(sum d^2) / sqrt(sum x^2)
  e.rmse = a.empty() ? 0 : std::sqrt(sq / double(a.size()));
  e.rel_frobenius = norm > 0 ? std::sqrt(sq / norm) : (sq > 0 ? INFINITY : 0);
  return e;
}

}  // namespace lab::quant
