// Dropout: in training, zero each element with probability p and scale the rest by 1 / (1 - p);
// in eval, the identity.
//
// Each Dropout owns a Generator, seeded at construction (seed() restarts it), so a run is
// reproducible and two Dropouts do not share a stream. Not here: the mask arithmetic (ag::dropout).
// Next: sequential.h.
#pragma once

#include "nn/module.h"
#include "tensor/random.h"

namespace lab::nn {

class Dropout : public UnaryModule {
public:
  explicit Dropout(double p, uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;

  double p() const { return p_; }
  void seed(uint64_t seed) { gen_ = Generator(seed); }

private:
  double p_;
  Generator gen_;
};

}  // namespace lab::nn
