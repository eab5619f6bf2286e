// The activation modules' forwards: one differentiable op each.
#include "nn/activation.h"

#include "autograd/ops.h"

namespace lab::nn {

Tensor GELU::forward(const Tensor& x) { return ag::gelu(x); }
Tensor ReLU::forward(const Tensor& x) { return ag::relu(x); }

}  // namespace lab::nn
