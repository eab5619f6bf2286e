// RMSNorm (Zhang & Sennrich 2019), as LLaMA normalizes: no mean subtracted, no bias.
//
//   y = x / sqrt(mean(x^2) + eps) * weight      over the last dim; weight starts at ones
//
// Hugging Face's LlamaRMSNorm computes in f32 and casts back; ours is f32 throughout. The op is a
// composition of differentiable ops (autograd/ops.h), so its backward, and every device, come free.
// Not here: LayerNorm (layer_norm.h, GPT-2's). Next: rope.h, llama.h.
#pragma once

#include "nn/module.h"

namespace lab::nn {

class RMSNorm : public UnaryModule {
public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6);
  Tensor forward(const Tensor& x) override;  // x [..., dim] -> [..., dim]

  int64_t dim() const { return dim_; }
  double eps() const { return eps_; }

private:
  int64_t dim_;
  double eps_;
};

}  // namespace lab::nn
