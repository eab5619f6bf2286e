// Linear: y = x W^T + b, with W stored [out, in] as torch.nn.Linear stores it.
//
// Initialized as torch.nn.Linear: W and b ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform, a = sqrt(5)).
// x is [..., in] (any leading dims), y is [..., out].
// Not here: GPT-2's Conv1D layout ([in, out]; transpose when loading), LoRA (lora.h).
// Next: embedding.h, layer_norm.h.
#pragma once

#include "nn/module.h"
#include "tensor/random.h"

namespace lab::nn {

// What every layer computing y = x W^T (+ b) with W [out, in] reports, whatever W is stored as
// (f32 here, NF4 in quant::Linear4bit): what LoRA needs to size A [r, in] and B [out, r], and the
// device to put them on (W's: a layer without a bias has no parameter that would say).
class LinearLike {
public:
  virtual ~LinearLike() = default;
  virtual int64_t in_features() const = 0;
  virtual int64_t out_features() const = 0;
  virtual Device device() const = 0;
};

class Linear : public UnaryModule, public LinearLike {
public:
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& x) override;

  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }
  Device device() const override { return parameter("weight").device(); }
  bool has_bias() const { return has_parameter("bias"); }
  Tensor& weight() { return parameter("weight"); }  // [out, in]
  Tensor& bias() { return parameter("bias"); }      // [out]

private:
  int64_t in_, out_;
};

}  // namespace lab::nn
