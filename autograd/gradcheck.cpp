// Central-difference gradient checking: see gradcheck.h.
#include "autograd/gradcheck.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "tensor/elementwise.h"
#include "tensor/factory.h"
#include "tensor/reduce.h"

#include <cmath>

namespace lab::ag {

// Row-major multi-index of flat element j of `shape`.
static std::vector<int64_t> unravel(int64_t j, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = j % shape[d];
    j /= shape[d];
  }
  return idx;
}

GradcheckResult gradcheck(const std::string& op, const GradcheckFn& f, const std::vector<Tensor>& inputs, double eps, double atol,
                          double rtol) {
  bool any = false;
  for (const Tensor& x : inputs) any = any || requires_grad(x);
  LAB_CHECK(any, "gradcheck {}: no input requires grad, so there is nothing to check", op);
  for (const Tensor& x : inputs) {
    if (!x.defined()) continue;
    LAB_CHECK(x.device().is_cpu(), "gradcheck {}: inputs must be on the CPU", op);
    LAB_CHECK(!requires_grad(x) || x.dtype() == DType::f64, "gradcheck {}: inputs that require grad must be f64, got {}", op,
              dtype_name(x.dtype()));
    for (int64_t d = 0; d < x.dim(); d++)
      LAB_CHECK(x.stride(d) != 0 || x.size(d) <= 1, "gradcheck {}: input of shape {} is an expanded view; pass .contiguous()", op,
                shape_str(x.shape()));
    zero_grad(x);
  }

  // Analytic: backward of L = sum(f(x) * w).
  Tensor y = f(inputs);
  Generator gen(1234);
  Tensor w = randn(y.shape(), gen, y.dtype());
  backward(ag::sum(ag::mul(y, w)));

  // Numeric: L at x +- eps, with nothing recorded.
  auto loss = [&] {
    NoGradGuard no_grad;
    return lab::sum(lab::mul(f(inputs), w)).item<double>();
  };

  GradcheckResult result;
  double worst_excess = 0;
  for (size_t i = 0; i < inputs.size(); i++) {
    const Tensor& x = inputs[i];
    if (!requires_grad(x)) continue;
    Tensor analytic = grad(x);
    if (!analytic.defined()) analytic = zeros(x.shape(), x.dtype());  // no path from x to the output
    for (int64_t j = 0; j < x.numel(); j++) {
      std::vector<int64_t> idx = unravel(j, x.shape());
      double& v = x.at<double>(idx);
      const double saved = v;
      v = saved + eps;
      const double plus = loss();
      v = saved - eps;
      const double minus = loss();
      v = saved;
      const double numeric = (plus - minus) / (2 * eps);
      const double a = analytic.at<double>(idx);
      const double err = std::fabs(a - numeric);
      const double allowed = atol + rtol * std::fabs(numeric);
      result.max_error = std::max(result.max_error, err);
      if (!(err <= allowed) && (err - allowed > worst_excess || result.ok)) {
        worst_excess = err - allowed;
        result.ok = false;
        result.message = fmt::format("gradcheck failed for {}: input {} ({}, shape {}), element [{}]: analytic {:.10g}, numeric {:.10g} "
                                     "(|diff| {:.3g} > allowed {:.3g})",
                                     op, i, name_of(x), shape_str(x.shape()), fmt::join(idx, ", "), a, numeric, err, allowed);
      }
    }
  }
  return result;
}

}  // namespace lab::ag
