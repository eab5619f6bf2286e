// NaN/inf detection of finite.h.
#include "tensor/finite.h"

#include "tensor/elementwise.h"
#include "tensor/reduce.h"

#include <cmath>

namespace lab {

bool all_finite(const Tensor& t) {
  if (!is_floating(t.dtype()) || t.numel() == 0) return true;
  return std::isfinite(sum(mul(t, 0.0)).item<double>());
}

NonFinite find_nonfinite(const Tensor& t) {
  NonFinite r;
  if (!is_floating(t.dtype())) return r;
  std::vector<double> v = t.to_vector<double>();
  for (size_t i = 0; i < v.size(); i++) {
    if (std::isfinite(v[i])) continue;
    if (r.count++ == 0) {
      r.first_value = v[i];
      int64_t j = int64_t(i);
      r.first_index.assign(t.shape().size(), 0);
      for (size_t d = t.shape().size(); d-- > 0;) r.first_index[d] = j % t.shape()[d], j /= t.shape()[d];
    }
  }
  return r;
}

void require_finite(const Tensor& t, const std::string& what) {
  if (all_finite(t)) return;
  NonFinite r = find_nonfinite(t);
  LAB_FAIL("{} is not finite: {} of {} values (first: {} at [{}])", what, r.count, t.numel(), r.first_value, fmt::join(r.first_index, ", "));
}

}  // namespace lab
