// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"), computed exactly as
// torch.optim.AdamW (amsgrad=False, maximize=False), on CPU (the reference loop in adamw.cpp) and
// CUDA (the fused kernel cuda/adamw.cu). The state of a parameter: "step" (its own count, as
// PyTorch's, since a parameter without a grad does not advance), "exp_avg" (m), "exp_avg_sq" (v).
// Not here: what all optimizers share (optimizer.h); the paged variant of lesson 07.
#pragma once

#include "cuda/adamw.h"
#include "optim/optimizer.h"

namespace lab {

struct AdamWOptions {  // PyTorch's defaults
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

class AdamW : public Optimizer {
public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  std::string name() const override { return "AdamW"; }
  AdamWOptions& options() { return options_; }  // change lr between steps for a schedule
  const AdamWOptions& options() const { return options_; }

protected:
  void update() override;
  std::vector<Slot> slots() const override;
  std::map<std::string, std::string> hyperparameters() const override;

private:
  AdamWOptions options_;
};

// The scalars of update number `step` (1 for the first), in double, as PyTorch computes them.
cuda::AdamWCoefficients adamw_coefficients(const AdamWOptions& o, int64_t step);
// The CPU reference of one update over n contiguous elements; T is float or double.
// cuda::adamw_step_f32 / _f64 compute the same, bit for bit.
template <typename T> void adamw_step_ref(T* p, const T* g, T* m, T* v, int64_t n, const cuda::AdamWCoefficients& c);
// One update of elements [first, first + n) of p (f32 or f64) with g's same elements and m, v (raw
// pointers to n values of p's dtype, on p's device): adamw_step_ref on the CPU, cuda::adamw_step_f32 /
// _f64 on the current GPU (the caller sets it). What AdamW, AdamW8bit's f32 state and PagedAdamW's pages share.
void adamw_step(const Tensor& p, const Tensor& g, int64_t first, int64_t n, void* m, void* v, const cuda::AdamWCoefficients& c);

}  // namespace lab
