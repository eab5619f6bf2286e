// Data types: the one list of every dtype loralab knows, and what each one is.
//
// The list is an X-macro so that adding a dtype is one line here and the compiler points at every
// switch that must learn about it. Compute happens in f32 (f64 on the CPU for gradcheck); bf16 and
// f16 are storage and GPU formats; u8 holds packed NF4 codes; i32/i64 hold token ids.
#pragma once

#include "tensor/half.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lab {

//  name  C++ type  bytes  safetensors name
#define LAB_FOR_EACH_DTYPE(X) \
  X(f32, float, 4, "F32")     \
  X(f64, double, 8, "F64")    \
  X(bf16, bf16, 2, "BF16")    \
  X(f16, f16, 2, "F16")       \
  X(i8, int8_t, 1, "I8")      \
  X(u8, uint8_t, 1, "U8")     \
  X(i32, int32_t, 4, "I32")   \
  X(i64, int64_t, 8, "I64")

enum class DType : uint8_t {
#define LAB_DTYPE_ENUM(name, type, bytes, st) name,
  LAB_FOR_EACH_DTYPE(LAB_DTYPE_ENUM)
#undef LAB_DTYPE_ENUM
};

size_t dtype_size(DType d);                 // bytes per element
const char* dtype_name(DType d);            // "f32"
const char* dtype_safetensors_name(DType d);  // "F32"
DType parse_dtype(std::string_view name);     // "f32" or "F32"; anything else is a lab::Error listing the allowed names
bool dtype_from_safetensors_name(std::string_view name, DType* out);  // false if we do not support it
bool is_floating(DType d);                  // f32, f64, bf16, f16

// The dtype of a C++ type: dtype_of<float>() == DType::f32.
template <typename T> constexpr DType dtype_of();
#define LAB_DTYPE_OF(name, type, bytes, st) \
  template <> constexpr DType dtype_of<type>() { return DType::name; }
LAB_FOR_EACH_DTYPE(LAB_DTYPE_OF)
#undef LAB_DTYPE_OF

// Run `body` with `T` set to the C++ type of a runtime dtype. One switch, so grep finds it:
//   LAB_DISPATCH_DTYPE(t.dtype(), T, { fill<T>(...); });
// The body becomes a generic lambda, so `if constexpr` inside it discards what does not apply to
// a type (e.g. integer-only code for bf16). A `return` in the body leaves only the body.
template <typename T> struct TypeTag { using type = T; };
#define LAB_DISPATCH_DTYPE(dtype, T, ...)                                                   \
  do {                                                                                      \
    auto lab_dispatch_body_ = [&](auto lab_tag_) { using T = typename decltype(lab_tag_)::type; __VA_ARGS__ }; \
    switch (dtype) {                                                                        \
      case ::lab::DType::f32: lab_dispatch_body_(::lab::TypeTag<float>{}); break;            \
      case ::lab::DType::f64: lab_dispatch_body_(::lab::TypeTag<double>{}); break;           \
      case ::lab::DType::bf16: lab_dispatch_body_(::lab::TypeTag<::lab::bf16>{}); break;     \
      case ::lab::DType::f16: lab_dispatch_body_(::lab::TypeTag<::lab::f16>{}); break;       \
      case ::lab::DType::i8: lab_dispatch_body_(::lab::TypeTag<int8_t>{}); break;            \
      case ::lab::DType::u8: lab_dispatch_body_(::lab::TypeTag<uint8_t>{}); break;           \
      case ::lab::DType::i32: lab_dispatch_body_(::lab::TypeTag<int32_t>{}); break;          \
      case ::lab::DType::i64: lab_dispatch_body_(::lab::TypeTag<int64_t>{}); break;          \
    }                                                                                       \
  } while (0)

// The type arithmetic happens in: float for the 16-bit formats, the type itself otherwise.
template <typename T> struct compute_type { using type = T; };
template <> struct compute_type<bf16> { using type = float; };
template <> struct compute_type<f16> { using type = float; };
template <typename T> using compute_t = typename compute_type<T>::type;

// Load and store through the compute type, so kernels are written once for every dtype.
template <typename T> inline compute_t<T> load_as_compute(T v) { return v; }
inline float load_as_compute(bf16 v) { return to_float(v); }
inline float load_as_compute(f16 v) { return to_float(v); }
template <typename T> inline T store_from_compute(compute_t<T> v) { return v; }
template <> inline bf16 store_from_compute<bf16>(float v) { return to_bf16(v); }
template <> inline f16 store_from_compute<f16>(float v) { return to_f16(v); }

}  // namespace lab
