// Embedding: a table [num_embeddings, dim] whose rows are looked up by integer id.
//
// ids [...] (i64 or i32) -> [..., dim]; the gradient adds into the rows that were used.
// Initialized N(0, 1) as torch.nn.Embedding (GPT-2 itself uses N(0, 0.02): reinitialize with init::normal_).
// Not here: padding_idx, max_norm. Next: layer_norm.h.
#pragma once

#include "nn/module.h"
#include "tensor/random.h"

namespace lab::nn {

class Embedding : public UnaryModule {
public:
  Embedding(int64_t num_embeddings, int64_t dim, Generator& gen);
  Tensor forward(const Tensor& ids) override;

  int64_t num_embeddings() const { return num_; }
  int64_t embedding_dim() const { return dim_; }
  Tensor& weight() { return parameter("weight"); }  // [num_embeddings, dim]

private:
  int64_t num_, dim_;
};

}  // namespace lab::nn
