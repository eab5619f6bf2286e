// Activations as modules, so that Sequential can chain them: GELU (tanh form, as GPT-2) and ReLU.
//
// They hold no parameters; a layer that needs one in its own forward calls ag::gelu directly.
// Next: sequential.h, mlp.h.
#pragma once

#include "nn/module.h"

namespace lab::nn {

// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
class GELU : public UnaryModule {
public:
  Tensor forward(const Tensor& x) override;
};

// relu(x) = max(x, 0)
class ReLU : public UnaryModule {
public:
  Tensor forward(const Tensor& x) override;
};

}  // namespace lab::nn
