// SGD's update: the CPU reference loop, the device dispatch, and the coefficients both devices use.
// PyTorch's _single_tensor_sgd, in its order of operations, each scalar a double rounded to T once:
//   g = grad + wd p;  buf = g (first step) or momentum buf + (1 - dampening) g;
//   g = g + momentum buf (Nesterov) or g = buf;  p = p - lr g
// Not here: the GPU kernel (cuda/sgd.cu), the state and its files (optimizer.cpp).
#include "optim/sgd.h"

#include "autograd/autograd.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/runtime.h"
#endif

namespace lab {

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : Optimizer(std::move(params)), options_(options) {
  const SGDOptions& o = options_;
  LAB_CHECK(o.lr >= 0 && o.momentum >= 0 && o.weight_decay >= 0, "SGD: lr {}, momentum {}, weight_decay {}: none may be negative", o.lr,
            o.momentum, o.weight_decay);
  LAB_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and dampening 0, got {} and {}",
            o.momentum, o.dampening);
}

std::vector<Optimizer::Slot> SGD::slots() const {
  if (options_.momentum == 0) return {};
  return {{"momentum_buffer", true}};
}

std::map<std::string, std::string> SGD::hyperparameters() const {
  const SGDOptions& o = options_;
  return {{"lr", fmt::format("{}", o.lr)},
          {"momentum", fmt::format("{}", o.momentum)},
          {"dampening", fmt::format("{}", o.dampening)},
          {"weight_decay", fmt::format("{}", o.weight_decay)},
          {"nesterov", o.nesterov ? "true" : "false"}};
}

cuda::SGDCoefficients sgd_coefficients(const SGDOptions& o, bool first_step) {
  cuda::SGDCoefficients c;
  c.weight_decay = o.weight_decay;
  c.momentum = o.momentum;
  c.one_minus_dampening = 1 - o.dampening;
  c.first_step = first_step;
  c.nesterov = o.nesterov;
  c.neg_lr = -o.lr;
  return c;
}

template <typename T> void sgd_step_ref(T* p, const T* g, T* buf, int64_t n, const cuda::SGDCoefficients& c) {
  const T weight_decay = T(c.weight_decay), momentum = T(c.momentum), one_minus_dampening = T(c.one_minus_dampening);
  const T neg_lr = T(c.neg_lr);
  parallel_for(n, [&](int64_t i) {
    T gi = g[i];
    // g = grad + wd p   (torch: grad.add(param, alpha=wd), skipped when wd == 0)
    if (c.weight_decay != 0) gi = gi + weight_decay * p[i];
    if (c.momentum != 0) {
      // buf = g (first step), else buf = momentum buf + (1 - dampening) g   (buf.mul_(m).add_(g, alpha=1-d))
      const T b = c.first_step ? gi : buf[i] * momentum + one_minus_dampening * gi;
      buf[i] = b;
      // g = g + momentum buf (Nesterov), else g = buf
      gi = c.nesterov ? gi + momentum * b : b;
    }
    // p = p + (-lr) g   (param.add_(g, alpha=-lr))
    p[i] = p[i] + neg_lr * gi;
  });
}
template void sgd_step_ref<float>(float*, const float*, float*, int64_t, const cuda::SGDCoefficients&);
template void sgd_step_ref<double>(double*, const double*, double*, int64_t, const cuda::SGDCoefficients&);

void SGD::update() {
  for (size_t i = 0; i < params_.size(); i++) {
    if (!has_update(i)) continue;
    const Tensor& p = params_[i];
    const Tensor g = ag::grad(p).contiguous();
    const bool first_step = options_.momentum != 0 && state_[i].empty();
    Tensor buf = options_.momentum != 0 ? state_for(i).at("momentum_buffer") : Tensor();
    const cuda::SGDCoefficients c = sgd_coefficients(options_, first_step);
    if (p.device().is_cuda()) {
#if LAB_HAS_CUDA
      cuda::set_device(p.device().index);
      if (p.dtype() == DType::f32)
        cuda::sgd_step_f32(p.data<float>(), g.data<float>(), buf.defined() ? buf.data<float>() : nullptr, p.numel(), c);
      else
        cuda::sgd_step_f64(p.data<double>(), g.data<double>(), buf.defined() ? buf.data<double>() : nullptr, p.numel(), c);
      continue;
#endif
    }
    if (p.dtype() == DType::f32)
      sgd_step_ref(p.data<float>(), g.data<float>(), buf.defined() ? buf.data<float>() : nullptr, p.numel(), c);
    else
      sgd_step_ref(p.data<double>(), g.data<double>(), buf.defined() ? buf.data<double>() : nullptr, p.numel(), c);
  }
}

}  // namespace lab
