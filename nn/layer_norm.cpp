// LayerNorm's constructor and forward: a checked call to ag::layer_norm.
#include "nn/layer_norm.h"

#include "autograd/ops.h"
#include "tensor/factory.h"

namespace lab::nn {

LayerNorm::LayerNorm(int64_t dim, double eps, bool affine) : dim_(dim), eps_(eps), affine_(affine) {
  LAB_CHECK(dim_ > 0 && eps_ > 0, "LayerNorm({}, eps={}): dim and eps must be positive", dim_, eps_);
  if (affine_) {
    register_parameter("weight", ones({dim_}));
    register_parameter("bias", zeros({dim_}));
  }
}

// y = (x - mean) * rstd * weight + bias over the last dim, rstd = 1 / sqrt(var + eps)
Tensor LayerNorm::forward(const Tensor& x) {
  LAB_CHECK(x.dim() >= 1 && x.size(-1) == dim_, "LayerNorm({}): input of shape {} has last dim {}, expected {}", dim_,
            shape_str(x.shape()), x.dim() >= 1 ? x.size(-1) : 0, dim_);
  if (!affine_) return ag::layer_norm(x, Tensor(), Tensor(), eps_);
  return ag::layer_norm(x, parameter("weight"), parameter("bias"), eps_);
}

}  // namespace lab::nn
