// MLP: Linear -> GELU -> Linear, the feed-forward half of a transformer block.
//
//   h = gelu(x W_fc^T + b_fc),  y = h W_proj^T + b_proj      x [..., in] -> h [..., hidden] -> y [..., out]
//
// The two layers are named "c_fc" and "c_proj" as in GPT-2 (h.N.mlp.c_fc.weight, ...), and looked up
// by name in forward, so LoRA can replace either. Not here: dropout (the block adds it). Next: attention.
#pragma once

#include "nn/linear.h"

namespace lab::nn {

class MLP : public UnaryModule {
public:
  MLP(int64_t in_features, int64_t hidden_features, int64_t out_features, Generator& gen);
  Tensor forward(const Tensor& x) override;
};

}  // namespace lab::nn
