// Dropout's forward: ag::dropout with this module's mode and generator.
#include "nn/dropout.h"

#include "autograd/ops.h"

namespace lab::nn {

Dropout::Dropout(double p, uint64_t seed) : p_(p), gen_(seed) {
  LAB_CHECK(p_ >= 0 && p_ < 1, "Dropout: p must be in [0, 1), got {}", p_);
}

// y = x * m / (1 - p), m ~ Bernoulli(1 - p) in training; y = x in eval
Tensor Dropout::forward(const Tensor& x) { return ag::dropout(x, p_, is_training(), gen_); }

}  // namespace lab::nn
