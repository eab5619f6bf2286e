// GPU fill, strided copy and dtype cast: one kernel template, instantiated for each of the 8 x 8
// (destination, source) element-type pairs, plus a fill kernel per type.
//
// The conversion rules are tensor/convert.h's, and the 16-bit conversions below repeat
// tensor/half.h's bit for bit (half.h is host-only), so a cast gives the same bits on both devices,
// NaN payloads aside (the GPU's float conversions return its one canonical NaN);
// tests/cuda/test_cuda_kernels.cpp checks every pair, NaN, infinities and ties included.
// Not here: copies between devices (cuda/runtime.cu's memcpy), elementwise math (cuda/elementwise.cu).
#include "cuda/copy.h"
#include "cuda/launch.cuh"

#include <cuda/std/limits>
#include <type_traits>

namespace lab::cuda {

namespace {

// The two 16-bit formats as stored: raw bits, converted through float.
struct Bf16 { uint16_t bits; };
struct F16 { uint16_t bits; };

__device__ float bf16_to_float(Bf16 h) { return __uint_as_float(uint32_t(h.bits) << 16); }

__device__ Bf16 float_to_bf16(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return Bf16{uint16_t((u >> 16) | 0x0040u)};  // quiet NaN
  // Round to nearest even: add 0x7fff plus the lowest kept bit, then drop the low 16 bits.
  u += 0x7fffu + ((u >> 16) & 1u);
  return Bf16{uint16_t(u >> 16)};
}

__device__ float f16_to_float(F16 h) {
  const uint32_t sign = uint32_t(h.bits & 0x8000u) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1fu;
  const uint32_t man = h.bits & 0x3ffu;
  if (exp == 0x1f) return __uint_as_float(sign | 0x7f800000u | (man << 13));  // inf / NaN
  if (exp == 0) {
    if (man == 0) return __uint_as_float(sign);                                // +-0
    // Subnormal: value = man * 2^-24, exact in float.
    const float v = float(man) * __uint_as_float(0x33800000u);
    return sign ? -v : v;
  }
  return __uint_as_float(sign | ((exp + 112u) << 23) | (man << 13));           // rebias 15 -> 127
}

__device__ F16 float_to_f16(float f) {
  const uint32_t u = __float_as_uint(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return F16{uint16_t(sign | 0x7e00u)};                   // NaN
  if (a >= 0x477ff000u) return F16{uint16_t(sign | 0x7c00u)};                  // rounds to >= 65520: inf
  if (a < 0x38800000u) {
    // Below 2^-14: subnormal or zero. Adding 0.5f puts value / 2^-24, rounded to nearest even by the
    // float addition itself, into the low mantissa bits.
    const float v = __fadd_rn(__uint_as_float(a), 0.5f);
    return F16{uint16_t(sign | uint16_t(__float_as_uint(v) - 0x3f000000u))};
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
  const uint32_t r = a + ((15u - 127u) << 23) + 0xfffu + ((a >> 13) & 1u);
  return F16{uint16_t(sign | (r >> 13))};
}

// Load through the compute type: float for the 16-bit formats, the value itself otherwise.
template <typename T> __device__ T load_compute(T v) { return v; }
__device__ float load_compute(Bf16 v) { return bf16_to_float(v); }
__device__ float load_compute(F16 v) { return f16_to_float(v); }

// Float -> integer: truncate toward zero, saturate at the limits, NaN -> 0. The limits compare exactly
// in double (int64's max rounds up to 2^63, so anything >= 2^63 saturates).
template <typename To> __device__ To float_to_int_saturating(double v) {
  using limits = ::cuda::std::numeric_limits<To>;
  if (v != v) return To(0);
  if (v <= double(limits::min())) return limits::min();
  if (v >= double(limits::max())) return limits::max();
  return To(v);
}

// One value from type From to type To, by tensor/convert.h's rules.
template <typename To, typename From> __device__ To convert(From v) {
  const auto c = load_compute(v);
  using C = decltype(c);
  if constexpr (std::is_same_v<To, Bf16>) {
    return float_to_bf16(float(c));
  } else if constexpr (std::is_same_v<To, F16>) {
    return float_to_f16(float(c));
  } else if constexpr (std::is_floating_point_v<To>) {
    return To(c);
  } else if constexpr (std::is_floating_point_v<C>) {
    return float_to_int_saturating<To>(double(c));
  } else {
    return To(std::make_unsigned_t<To>(c));  // integer -> integer wraps modulo 2^bits
  }
}

// out[out_layout(i)] = value for i < n; `value` is converted once per thread.
template <typename T> __global__ void fill_kernel(T* out, Layout out_layout, int64_t n, bool contiguous, double value) {
  const T v = convert<T>(value);
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[contiguous ? i : offset_of(i, out_layout)] = v;
}

// out[out_layout(i)] = convert(src[src_layout(i)]) for i < n.
template <typename To, typename From>
__global__ void copy_cast_kernel(To* out, Layout out_layout, const From* src, Layout src_layout, int64_t n, bool contiguous) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t o = contiguous ? i : offset_of(i, out_layout);
    const int64_t s = contiguous ? i : offset_of(i, src_layout);
    out[o] = convert<To>(src[s]);
  }
}

// Call f(T{}) with T the storage type of `type`: one switch, so each kernel is instantiated per type.
template <typename F> void dispatch(ElemType type, F f) {
  switch (type) {
    case ElemType::f32: return f(float{});
    case ElemType::f64: return f(double{});
    case ElemType::bf16: return f(Bf16{});
    case ElemType::f16: return f(F16{});
    case ElemType::i8: return f(int8_t{});
    case ElemType::u8: return f(uint8_t{});
    case ElemType::i32: return f(int32_t{});
    case ElemType::i64: return f(int64_t{});
  }
}

template <typename To, typename From>
void launch_copy_cast(void* out, ElemType out_type, const Layout& out_layout, const void* src, ElemType src_type,
                      const Layout& src_layout, int64_t n) {
  const bool contiguous = is_contiguous(out_layout) && is_contiguous(src_layout);
  copy_cast_kernel<To, From><<<grid_for(n), kThreads>>>(static_cast<To*>(out), out_layout, static_cast<const From*>(src),
                                                        src_layout, n, contiguous);
  CUDA_CHECK_LAUNCH(std::string("copy_cast_") + elem_type_name(src_type) + "_to_" + elem_type_name(out_type), {"n", n},
                    {"ndim", out_layout.ndim});
}

}  // namespace

void fill(void* out, ElemType type, const Layout& out_layout, double value) {
  const int64_t n = numel(out_layout);
  if (n == 0) return;
  dispatch(type, [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<T><<<grid_for(n), kThreads>>>(static_cast<T*>(out), out_layout, n, is_contiguous(out_layout), value);
    CUDA_CHECK_LAUNCH(std::string("fill_") + elem_type_name(type), {"n", n}, {"ndim", out_layout.ndim});
  });
}

void copy_cast(void* out, ElemType out_type, const Layout& out_layout, const void* src, ElemType src_type,
               const Layout& src_layout) {
  const int64_t n = numel(out_layout);
  if (n == 0) return;
  dispatch(out_type, [&](auto to_tag) {
    dispatch(src_type, [&](auto from_tag) {
      launch_copy_cast<decltype(to_tag), decltype(from_tag)>(out, out_type, out_layout, src, src_type, src_layout, n);
    });
  });
}

}  // namespace lab::cuda
