// RMSNorm's constructor and forward (see rms_norm.h).
#include "nn/rms_norm.h"

#include "autograd/ops.h"
#include "tensor/factory.h"

#include <cmath>

namespace lab::nn {

RMSNorm::RMSNorm(int64_t dim, double eps) : dim_(dim), eps_(eps) {
  LAB_CHECK(dim_ > 0 && std::isfinite(eps_) && eps_ > 0, "RMSNorm({}, eps={}): dim and eps must be positive", dim_, eps_);
  register_parameter("weight", ones({dim_}));
}

Tensor RMSNorm::forward(const Tensor& x) {
  LAB_CHECK(x.dim() >= 1 && x.size(-1) == dim_, "RMSNorm({}): input of shape {} has last dim {}, expected {}", dim_, shape_str(x.shape()),
            x.dim() >= 1 ? x.size(-1) : 0, dim_);
  // rrms = (mean(x^2) + eps)^(-1/2)   [..., 1]
  Tensor rrms = ag::pow(ag::add(ag::mean(ag::mul(x, x), {x.dim() - 1}, /*keepdim=*/true), eps_), -0.5);
  // y = x rrms weight
  return ag::mul(ag::mul(x, rrms), parameter("weight"));
}

}  // namespace lab::nn
