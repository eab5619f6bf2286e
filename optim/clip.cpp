// clip_grad_norm of clip.h. The squared norm of each grad is summed on its device, in its dtype
// (as PyTorch's vector_norm), and the per-tensor sums are added on the host in double.
#include "optim/clip.h"

#include "autograd/autograd.h"
#include "tensor/elementwise.h"
#include "tensor/reduce.h"

#include <cmath>

namespace lab {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  LAB_CHECK(max_norm > 0 && std::isfinite(max_norm), "clip_grad_norm: max_norm must be a positive number, got {} (HINT: use --clip 0 to turn clipping off)", max_norm);
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    Tensor g = ag::grad(p);
    if (g.defined()) grads.push_back(g);
  }
  // norm = sqrt(sum_i ||g_i||^2)
  double total_sq = 0;
  for (const Tensor& g : grads) total_sq += sum(mul(g, g)).item<double>();
  const double norm = std::sqrt(total_sq);
  // coef = max_norm / (norm + 1e-6), clamped to 1 (PyTorch multiplies by 1.0 then, which changes nothing)
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (size_t i = 0, k = 0; i < params.size(); i++)
      if (ag::grad(params[i]).defined()) ag::set_grad(params[i], mul(grads[k++], coef));
  return norm;
}

}  // namespace lab
