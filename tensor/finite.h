// Finding NaN and infinity: the guard every training step runs before it changes anything.
//
//   all_finite(t)   one pass on t's device: sum(t * 0) is NaN exactly when some element of t is
//                   NaN or +-inf (0 * inf = NaN), so no new kernel is needed
//   find_nonfinite  on the CPU, only once something was found: how many, the first, its index
//
// require_finite() turns a failure into a lab::Error that names the tensor and the first bad value.
#pragma once

#include "tensor/tensor.h"

#include <string>
#include <vector>

namespace lab {

bool all_finite(const Tensor& t);

struct NonFinite {
  int64_t count = 0;               // how many elements are NaN or +-inf
  std::vector<int64_t> first_index;  // the first one in row-major order
  double first_value = 0;
};
NonFinite find_nonfinite(const Tensor& t);

// "<what> is not finite: 3 of 64 values (first: nan at [2, 5])" as a lab::Error, unless all are finite.
void require_finite(const Tensor& t, const std::string& what);

}  // namespace lab
