// SGD with momentum, dampening, Nesterov and (L2, coupled) weight decay: torch.optim.SGD exactly
// (maximize=False), on CPU (the reference loop in sgd.cpp) and CUDA (the fused kernel cuda/sgd.cu).
// The state of a parameter, with momentum != 0, is "momentum_buffer"; without momentum there is none.
// Not here: what all optimizers share (optimizer.h); AdamW (adamw.h).
#pragma once

#include "cuda/sgd.h"
#include "optim/optimizer.h"

namespace lab {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0, as PyTorch
};

class SGD : public Optimizer {
public:
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  std::string name() const override { return "SGD"; }
  SGDOptions& options() { return options_; }  // change lr between steps for a schedule
  const SGDOptions& options() const { return options_; }

protected:
  void update() override;
  std::vector<Slot> slots() const override;
  std::map<std::string, std::string> hyperparameters() const override;

private:
  SGDOptions options_;
};

// The scalars of one update, for both devices; first_step: the momentum buffer is new.
cuda::SGDCoefficients sgd_coefficients(const SGDOptions& o, bool first_step);
// The CPU reference of one update over n contiguous elements (buf null when momentum == 0); T is
// float or double. cuda::sgd_step_f32 / _f64 compute the same, bit for bit.
template <typename T> void sgd_step_ref(T* p, const T* g, T* buf, int64_t n, const cuda::SGDCoefficients& c);

}  // namespace lab
