// AdamW's update: the CPU reference loop, the device dispatch, and the coefficients both devices use.
//   p *= 1 - lr wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr m_hat / (sqrt(v_hat) + eps)
//   with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t): eps outside the sqrt, decay decoupled from g.
// The order of floating-point operations is PyTorch's (_single_tensor_adam, foreach=False), with
// each scalar computed in double (a Python float) and rounded to T once, so that a fixture made
// with torch.optim.AdamW agrees to ~1e-7 relative in f32; see adamw_step_ref for the exact order.
// Not here: the GPU kernel (cuda/adamw.cu), the state and its files (optimizer.cpp).
#include "optim/adamw.h"

#include "autograd/autograd.h"
#include "tensor/strided_loop.h"

#include <cmath>

#if LAB_HAS_CUDA
#include "cuda/runtime.h"
#endif

namespace lab {

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options) : Optimizer(std::move(params)), options_(options) {
  const AdamWOptions& o = options_;
  LAB_CHECK(o.lr >= 0 && o.eps >= 0 && o.weight_decay >= 0, "AdamW: lr {}, eps {}, weight_decay {}: none may be negative", o.lr, o.eps,
            o.weight_decay);
  LAB_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "AdamW: betas must be in [0, 1), got ({}, {})", o.beta1, o.beta2);
}

std::vector<Optimizer::Slot> AdamW::slots() const { return {{"step", false}, {"exp_avg", true}, {"exp_avg_sq", true}}; }

std::map<std::string, std::string> AdamW::hyperparameters() const {
  const AdamWOptions& o = options_;
  return {{"lr", fmt::format("{}", o.lr)},
          {"betas", fmt::format("[{}, {}]", o.beta1, o.beta2)},
          {"eps", fmt::format("{}", o.eps)},
          {"weight_decay", fmt::format("{}", o.weight_decay)}};
}

cuda::AdamWCoefficients adamw_coefficients(const AdamWOptions& o, int64_t step) {
  // bias_correction1 = 1 - beta1 ** step; step_size = lr / bias_correction1
  // bias_correction2_sqrt = sqrt(1 - beta2 ** step)
  const double bias_correction1 = 1 - std::pow(o.beta1, double(step));
  const double bias_correction2 = 1 - std::pow(o.beta2, double(step));
  cuda::AdamWCoefficients c;
  c.decay = 1 - o.lr * o.weight_decay;
  c.beta1_weight = 1 - o.beta1;
  c.beta2 = o.beta2;
  c.one_minus_beta2 = 1 - o.beta2;
  c.bias_correction2_sqrt = std::sqrt(bias_correction2);
  c.eps = o.eps;
  c.neg_step_size = -(o.lr / bias_correction1);
  return c;
}

template <typename T> void adamw_step_ref(T* p, const T* g, T* m, T* v, int64_t n, const cuda::AdamWCoefficients& c) {
  const T decay = T(c.decay), w = T(c.beta1_weight), beta2 = T(c.beta2), one_minus_beta2 = T(c.one_minus_beta2);
  const T bc2_sqrt = T(c.bias_correction2_sqrt), eps = T(c.eps), neg_step_size = T(c.neg_step_size);
  parallel_for(n, [&](int64_t i) {
    const T gi = g[i];
    // param.mul_(1 - lr * weight_decay)
    const T pi = p[i] * decay;
    // exp_avg.lerp_(grad, 1 - beta1): m + w (g - m) for w < 0.5, else g - (g - m)(1 - w), as ATen's lerp
    const T mi = w < T(0.5) ? m[i] + w * (gi - m[i]) : gi - (gi - m[i]) * (T(1) - w);
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2): v b2 + ((1 - b2) g) g
    const T vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
    // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    const T denom = std::sqrt(vi) / bc2_sqrt + eps;
    // param.addcdiv_(exp_avg, denom, value=-step_size): p + (-step_size) (m / denom)
    p[i] = pi + neg_step_size * (mi / denom);
    m[i] = mi;
    v[i] = vi;
  });
}
template void adamw_step_ref<float>(float*, const float*, float*, float*, int64_t, const cuda::AdamWCoefficients&);
template void adamw_step_ref<double>(double*, const double*, double*, double*, int64_t, const cuda::AdamWCoefficients&);

void adamw_step(const Tensor& p, const Tensor& g, int64_t first, int64_t n, void* m, void* v, const cuda::AdamWCoefficients& c) {
  if (p.device().is_cuda()) {
#if LAB_HAS_CUDA
    if (p.dtype() == DType::f32)
      cuda::adamw_step_f32(p.data<float>() + first, g.data<float>() + first, static_cast<float*>(m), static_cast<float*>(v), n, c);
    else
      cuda::adamw_step_f64(p.data<double>() + first, g.data<double>() + first, static_cast<double*>(m), static_cast<double*>(v), n, c);
    return;
#endif
  }
  if (p.dtype() == DType::f32)
    adamw_step_ref(p.data<float>() + first, g.data<float>() + first, static_cast<float*>(m), static_cast<float*>(v), n, c);
  else
    adamw_step_ref(p.data<double>() + first, g.data<double>() + first, static_cast<double*>(m), static_cast<double*>(v), n, c);
}

void AdamW::update() {
  for (size_t i = 0; i < params_.size(); i++) {
    if (!has_update(i)) continue;
    const Tensor& p = params_[i];
    const Tensor g = ag::grad(p).contiguous();
    std::map<std::string, Tensor>& s = state_for(i);
    int64_t& step = s.at("step").data<int64_t>()[0];  // the parameter's own count (state_for keeps it on the CPU)
    step += 1;
    const cuda::AdamWCoefficients c = adamw_coefficients(options_, step);
#if LAB_HAS_CUDA
    if (p.device().is_cuda()) cuda::set_device(p.device().index);
#endif
    adamw_step(p, g, 0, p.numel(), s.at("exp_avg").raw_data(), s.at("exp_avg_sq").raw_data(), c);
  }
}

}  // namespace lab
