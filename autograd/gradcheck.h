// Gradient checking: the analytic gradient from backward() against central differences in f64.
//
//   numeric dL/dx_j = (L(x + eps e_j) - L(x - eps e_j)) / (2 eps),   L = sum(f(inputs) * w)
//
// with w a fixed random weight per output element (so every output element matters and errors
// cannot cancel). An element passes when |analytic - numeric| <= atol + rtol * |numeric|. The
// message of a failure names the op, the input, the worst element and both values.
// CPU only; inputs must be f64 and must not be expanded views (one stored element, one input element).
#pragma once

#include "tensor/tensor.h"

#include <functional>
#include <string>
#include <vector>

namespace lab::ag {

struct GradcheckResult {
  bool ok = true;
  double max_error = 0;  // the largest |analytic - numeric| seen
  std::string message;   // empty when ok
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks every input that requires grad. f must build its output from ag:: ops.
GradcheckResult gradcheck(const std::string& op, const GradcheckFn& f, const std::vector<Tensor>& inputs, double eps = 1e-6,
                          double atol = 1e-7, double rtol = 1e-5);

}  // namespace lab::ag
