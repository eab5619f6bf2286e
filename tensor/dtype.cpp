// Names and sizes of the dtypes listed in dtype.h.
#include "tensor/dtype.h"

#include "tensor/error.h"

namespace lab {

size_t dtype_size(DType d) {
  switch (d) {
#define X(name, type, bytes, st) case DType::name: return bytes;
    LAB_FOR_EACH_DTYPE(X)
#undef X
  }
  LAB_UNREACHABLE();
}

const char* dtype_name(DType d) {
  switch (d) {
#define X(name, type, bytes, st) case DType::name: return #name;
    LAB_FOR_EACH_DTYPE(X)
#undef X
  }
  LAB_UNREACHABLE();
}

const char* dtype_safetensors_name(DType d) {
  switch (d) {
#define X(name, type, bytes, st) case DType::name: return st;
    LAB_FOR_EACH_DTYPE(X)
#undef X
  }
  LAB_UNREACHABLE();
}

DType parse_dtype(std::string_view name) {
#define X(n, type, bytes, st) if (name == #n || name == st) return DType::n;
  LAB_FOR_EACH_DTYPE(X)
#undef X
  LAB_FAIL("unknown dtype '{}' (allowed: f32, f64, bf16, f16, i8, u8, i32, i64)", name);
}

bool dtype_from_safetensors_name(std::string_view name, DType* out) {
#define X(n, type, bytes, st) if (name == st) { *out = DType::n; return true; }
  LAB_FOR_EACH_DTYPE(X)
#undef X
  return false;
}

bool is_floating(DType d) { return d == DType::f32 || d == DType::f64 || d == DType::bf16 || d == DType::f16; }

}  // namespace lab
