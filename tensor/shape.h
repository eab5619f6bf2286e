// Shapes and strides, in PyTorch's convention: row-major, the last dim contiguous, strides counted
// in elements (not bytes). A broadcast or expanded dim has stride 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lab {

// At most this many dims (the GPU kernels pass shapes by value in fixed arrays of this size).
constexpr int kMaxDims = 8;

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

int64_t numel(const Shape& shape);                  // 1 for a scalar (shape [])
Strides contiguous_strides(const Shape& shape);     // [2,3,4] -> [12,4,1]
std::string shape_str(const Shape& shape);          // "[2, 3, 4]"

// NumPy's broadcasting: align from the right; sizes must be equal or one of them 1.
// [8,1,6,1] and [7,1,5] -> [8,7,6,5]; [2,3] and [4] is an error that names both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Negative dims count from the end, as in Python: -1 is the last. `what` names the op for the error.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* what);

// Strides that read a tensor of `shape`/`strides` as if it had `target` shape (stride 0 where it
// is broadcast). Assumes broadcast_shapes(shape, target) == target.
Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target);

}  // namespace lab
