// Shape arithmetic: see shape.h.
#include "tensor/shape.h"

#include "tensor/error.h"

namespace lab {

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; i++) {
    // i counts from the right.
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    LAB_CHECK(da == db || da == 1 || db == 1,
              "shapes {} and {} cannot be broadcast together: dim {} from the right is {} vs {} (sizes must match or be 1)",
              shape_str(a), shape_str(b), i, da, db);
    out[n - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalize_dim(int64_t dim, int64_t ndim, const char* what) {
  // A scalar still accepts dim 0 and -1, as PyTorch does.
  int64_t range = std::max<int64_t>(ndim, 1);
  LAB_CHECK(dim >= -range && dim < range, "{}: dim {} is out of range for a tensor with {} dims (allowed: {} to {})", what, dim,
            ndim, -range, range - 1);
  return dim < 0 ? dim + range : dim;
}

Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target) {
  Strides out(target.size(), 0);
  size_t lead = target.size() - shape.size();
  for (size_t i = 0; i < shape.size(); i++) out[lead + i] = shape[i] == 1 ? 0 : strides[i];
  return out;
}

}  // namespace lab
