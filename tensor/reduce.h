// Reductions over dims: sum, mean, max, argmax. No gradients here (see autograd/).
//
// `dims` empty means every dim. keepdim leaves the reduced dims in place with size 1, so the
// result broadcasts against the input (as PyTorch's keepdim=True).
// Floats accumulate in double on the CPU (the reference); integer sums accumulate in int64 and
// return i64, as PyTorch does.
#pragma once

#include "tensor/tensor.h"

#include <vector>

namespace lab {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // floating dtypes only
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);     // NaN counts as the largest value
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // i64; the first index of the maximum
Tensor max(const Tensor& x);                                        // over every element, shape []

}  // namespace lab
