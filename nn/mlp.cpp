// MLP's constructor and forward.
#include "nn/mlp.h"

#include "autograd/ops.h"

namespace lab::nn {

MLP::MLP(int64_t in_features, int64_t hidden_features, int64_t out_features, Generator& gen) {
  register_module("c_fc", std::make_shared<Linear>(in_features, hidden_features, gen));
  register_module("c_proj", std::make_shared<Linear>(hidden_features, out_features, gen));
}

// y = c_proj(gelu(c_fc(x)))
Tensor MLP::forward(const Tensor& x) {
  return child_as<UnaryModule>("c_proj").forward(ag::gelu(child_as<UnaryModule>("c_fc").forward(x)));
}

}  // namespace lab::nn
