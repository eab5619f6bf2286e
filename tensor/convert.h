// Converting one value between element types: the rules every cast in loralab follows, on the CPU
// here and on the GPU in cuda/copy.cu (which is tested against this).
//
//   float -> bf16/f16    round to nearest, ties to even (half.h)
//   float -> integer     truncate toward zero and saturate at the type's limits, NaN -> 0
//                        (as CUDA's __float2int_rz; C++ leaves out-of-range casts undefined)
//   integer -> integer   wraps modulo 2^bits, as C++ and PyTorch do
#pragma once

#include "tensor/dtype.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace lab {

template <typename To> inline To float_to_int_saturating(double v) {
  if (v != v) return To(0);
  // Compare in double: every int8..int32 limit is exact there; int64's max rounds up to 2^63, so
  // anything >= 2^63 saturates, and the cast below only ever sees values in range.
  if (v <= double(std::numeric_limits<To>::min())) return std::numeric_limits<To>::min();
  if (v >= double(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
  return To(v);
}

template <typename To, typename From> inline To convert_value(From v) {
  auto c = load_as_compute(v);  // float for bf16/f16, the value itself otherwise
  using C = decltype(c);
  if constexpr (std::is_same_v<To, bf16> || std::is_same_v<To, f16>) {
    return store_from_compute<To>(float(c));
  } else if constexpr (std::is_floating_point_v<To>) {
    return To(c);
  } else if constexpr (std::is_floating_point_v<C>) {
    return float_to_int_saturating<To>(double(c));
  } else {
    return To(std::make_unsigned_t<To>(c));  // two's-complement wrap, defined behaviour
  }
}

}  // namespace lab
