// Linear8bit: quantize a Linear's weight once, then run every forward through LLM.int8(); the
// backward to the input uses the dequantized weight. The layer and its choices: quant/linear8bit.h.
#include "quant/linear8bit.h"

#include "autograd/autograd.h"
#include "tensor/matmul.h"

namespace lab::quant {

Linear8bit::Linear8bit(const nn::Linear& linear, double threshold)
    : in_(linear.in_features()), out_(linear.out_features()), threshold_(threshold) {
  const Int8Rows w = quantize_rows(ag::detach(linear.parameter("weight")));
  register_parameter("weight", w.q, false);
  register_parameter("SCB", w.absmax, false);
  if (linear.has_bias()) register_parameter("bias", ag::detach(linear.parameter("bias")).to(DType::f32).clone(), false);
}

Int8Rows Linear8bit::weight() const { return {ag::detach(parameter("weight")), ag::detach(parameter("SCB"))}; }

// y = x W'^T + b through int8;  dL/dx = dL/dy W'  (W' = dequantized weight, [out, in])
Tensor Linear8bit::forward(const Tensor& x) {
  LAB_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == in_, "Linear8bit({} -> {}): input of shape {} has {} features, expected {}", in_,
            out_, x.defined() ? shape_str(x.shape()) : "(undefined)", x.defined() && x.dim() >= 1 ? x.size(-1) : 0, in_);
  LAB_CHECK(x.dtype() == DType::f32, "Linear8bit: the input must be f32, got {} (HINT: .to(DType::f32))", dtype_name(x.dtype()));
  const Int8Rows w = weight();
  const Tensor bias = has_parameter("bias") ? ag::detach(parameter("bias")) : Tensor();
  Shape out_shape = x.shape();
  out_shape.back() = out_;
  const Tensor x2 = ag::detach(x).reshape({x.numel() / in_, in_});
  Tensor y = llm_int8_matmul(x2, w, bias, threshold_, &last_outliers_).reshape(out_shape);
  const int64_t out = out_;
  return ag::record("linear8bit", y, {x}, [w, out, in_shape = x.shape()](const Tensor& grad) {
    const Tensor g = grad.reshape({grad.numel() / out, out});
    return std::vector<Tensor>{matmul(g, dequantize_rows(w)).reshape(in_shape)};
  });
}

}  // namespace lab::quant
