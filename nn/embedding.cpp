// Embedding's constructor and forward: a checked call to ag::embedding.
#include "nn/embedding.h"

#include "autograd/ops.h"
#include "nn/init.h"
#include "tensor/factory.h"

namespace lab::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Generator& gen) : num_(num_embeddings), dim_(dim) {
  LAB_CHECK(num_ > 0 && dim_ > 0, "Embedding({}, {}): sizes must be positive", num_, dim_);
  init::normal_(register_parameter("weight", empty({num_, dim_})), 0.0, 1.0, gen);
}

// y[i] = W[ids[i]]   ids [...] -> y [..., dim]
Tensor Embedding::forward(const Tensor& ids) {
  LAB_CHECK(ids.dtype() == DType::i64 || ids.dtype() == DType::i32,
            "Embedding({}, {}): ids must be i64 or i32, got {} (HINT: token ids are integers; make them with DType::i64)", num_, dim_,
            dtype_name(ids.dtype()));
  return ag::embedding(ids, weight());
}

}  // namespace lab::nn
