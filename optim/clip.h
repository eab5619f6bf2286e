// Gradient clipping by the global norm, exactly as torch.nn.utils.clip_grad_norm_(params, max_norm):
//
//   norm = sqrt(sum over every grad g of sum(g^2))      (the L2 norm of all grads as one vector)
//   g <- g * max_norm / (norm + 1e-6)                   only when that factor is below 1
//
// It bounds the size of one update when a batch gives an unusually large gradient (a loss spike),
// without changing its direction. Parameters without a grad are skipped. Runs on any device, with
// the tensor/ ops. Not here: clipping each value separately (clip_grad_value_), the optimizers.
// Next: train/trainer.cpp, which clips once per optimizer step, after the last micro-batch.
#pragma once

#include "tensor/tensor.h"

#include <vector>

namespace lab {

// Returns the norm before clipping (what the training loop logs). max_norm must be > 0.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace lab
