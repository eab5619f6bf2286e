// The fused SGD kernel: torch.optim.SGD's update of one element in one thread, in PyTorch's order of
// operations (the CPU reference, optim/sgd.cpp, has the formula). Every operation is rounded as on
// the CPU (cuda/rounded.cuh), so the two agree bit for bit.
// Napkin math: with momentum, f32 reads p, g, buf (12 B) and writes p, buf (8 B) per element.
// Not here: the coefficients (host side, optim/sgd.cpp).
#include "cuda/launch.cuh"
#include "cuda/rounded.cuh"
#include "cuda/sgd.h"

namespace lab::cuda {

namespace {

template <typename T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, SGDCoefficients c) {
  using namespace rounded;
  const T weight_decay = T(c.weight_decay), momentum = T(c.momentum), one_minus_dampening = T(c.one_minus_dampening);
  const T neg_lr = T(c.neg_lr);
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const T pi = p[i];
    T gi = g[i];
    // g = grad + wd p
    if (c.weight_decay != 0) gi = add(gi, mul(weight_decay, pi));
    if (c.momentum != 0) {
      // buf = g on the first step, else buf = momentum buf + (1 - dampening) g
      const T b = c.first_step ? gi : add(mul(buf[i], momentum), mul(one_minus_dampening, gi));
      buf[i] = b;
      // Nesterov: g = g + momentum buf; else g = buf
      gi = c.nesterov ? add(gi, mul(momentum, b)) : b;
    }
    // p = p + (-lr) g
    p[i] = add(pi, mul(neg_lr, gi));
  }
}

template <typename T> void sgd_step(T* p, const T* g, T* buf, int64_t n, const SGDCoefficients& c) {
  if (n == 0) return;
  sgd_kernel<T><<<grid_for(n), kThreads>>>(p, g, buf, n, c);
  CUDA_CHECK_LAUNCH(kernel_name<T>("sgd_step"), {"n", n});
}

}  // namespace

void sgd_step_f32(float* p, const float* g, float* buf, int64_t n, const SGDCoefficients& c) { sgd_step(p, g, buf, n, c); }
void sgd_step_f64(double* p, const double* g, double* buf, int64_t n, const SGDCoefficients& c) { sgd_step(p, g, buf, n, c); }

}  // namespace lab::cuda
