// Linear's constructor (PyTorch's init) and forward (two differentiable ops, so backward comes free).
#include "nn/linear.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/init.h"
#include "tensor/factory.h"

#include <cmath>

namespace lab::nn {

Linear::Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias) : in_(in_features), out_(out_features) {
  LAB_CHECK(in_ > 0 && out_ > 0, "Linear({} -> {}): sizes must be positive", in_, out_);
  init::kaiming_uniform_(register_parameter("weight", empty({out_, in_})), std::sqrt(5.0), gen);
  // bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as torch.nn.Linear.reset_parameters
  if (bias) init::uniform_(register_parameter("bias", empty({out_})), -1.0 / std::sqrt(double(in_)), 1.0 / std::sqrt(double(in_)), gen);
}

// y = x W^T + b   x [..., in], W [out, in], b [out] -> y [..., out]
Tensor Linear::forward(const Tensor& x) {
  const Tensor& w = weight();
  LAB_CHECK(x.dim() >= 1 && x.size(-1) == in_, "Linear({} -> {}) with weight '{}': input of shape {} has {} features, expected {}",
            in_, out_, ag::name_of(w), shape_str(x.shape()), x.dim() >= 1 ? x.size(-1) : 0, in_);
  Tensor y = ag::matmul(x, ag::transpose(w, 0, 1));
  return has_bias() ? ag::add(y, bias()) : y;
}

}  // namespace lab::nn
