// Linear4bit's constructors and forward; the backward sits beside it in the one ag::record call.
// The arithmetic is nf4_linear (nf4.cpp), which dequantizes W^T on the CPU or the GPU and multiplies;
// this file only records the graph and keeps the bias.
#include "quant/linear4bit.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"

namespace lab::quant {

Linear4bit::Linear4bit(const nn::Linear& linear, int64_t blocksize, bool double_quant)
    : Linear4bit(quantize_nf4(ag::detach(linear.parameter("weight")), blocksize, double_quant),
                 linear.has_parameter("bias") ? linear.parameter("bias") : Tensor()) {}

Linear4bit::Linear4bit(NF4Tensor weight, const Tensor& bias) : weight_(std::move(weight)) {
  LAB_CHECK(weight_.shape.size() == 2, "Linear4bit: the NF4 weight must be 2-D [out, in], got shape {}", shape_str(weight_.shape));
  if (bias.defined()) {
    LAB_CHECK(bias.shape() == Shape{out_features()}, "Linear4bit: bias of shape {} for {} outputs", shape_str(bias.shape()), out_features());
    LAB_CHECK(bias.device() == weight_.device(), "Linear4bit: bias on {}, weight on {}", bias.device().str(), weight_.device().str());
    register_parameter("bias", ag::detach(bias).to(DType::f32).clone(), /*requires_grad=*/false);
  }
}

// y = x W^T + b;  dL/dx = g W;  no dL/dW: the 4-bit weight is frozen
Tensor Linear4bit::forward(const Tensor& x) {
  Tensor y = ag::record("linear4bit", nf4_linear(x, weight_), {x},
                        [w = weight_](const Tensor& g) { return std::vector<Tensor>{nf4_linear_backward_input(g, w)}; });
  return has_bias() ? ag::add(y, bias().dtype() == y.dtype() ? bias() : ag::detach(bias()).to(y.dtype())) : y;
}

size_t Linear4bit::nbytes() const { return weight_.nbytes() + (has_bias() ? parameter("bias").nbytes() : 0); }

void Linear4bit::to(Device device) {
  weight_ = weight_.to(device);
  Module::to(device);
}

}  // namespace lab::quant
