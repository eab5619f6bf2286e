// LayerNorm over the last dim: y = (x - mean) / sqrt(var + eps) * weight + bias.
//
// weight starts at ones and bias at zeros, as torch.nn.LayerNorm; affine = false keeps neither.
// Only the last dim is normalized (GPT-2's only use). The kernels: tensor/layer_norm.h.
// Next: dropout.h.
#pragma once

#include "nn/module.h"

namespace lab::nn {

class LayerNorm : public UnaryModule {
public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;

  int64_t dim() const { return dim_; }
  double eps() const { return eps_; }

private:
  int64_t dim_;
  double eps_;
  bool affine_;
};

}  // namespace lab::nn
