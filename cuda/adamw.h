// The fused AdamW update on the GPU: one pass over a parameter reads p, g, m, v once and writes p, m,
// v once (16 bytes read + 12 written per f32 element, so it runs at memory bandwidth).
// CPU reference and the math: optim/adamw.cpp, which also computes the coefficients below on the
// host, in double, from lr, betas, eps, weight decay and the step count.
// Not here: the paged variant (optim/ pages the state; the kernel is the same), amsgrad, maximize.
// Plain C++ (no CUDA headers), so optim/ can fill the struct with or without nvcc.
#pragma once

#include <cstdint>

namespace lab::cuda {

// The scalars of one AdamW step, as torch.optim.AdamW computes them in Python (double); each kernel
// rounds them to its element type once, as PyTorch does when it passes a Python float to a kernel.
struct AdamWCoefficients {
  double decay = 1;                  // 1 - lr * weight_decay           (p *= decay)
  double beta1_weight = 0.1;         // 1 - beta1                       (m.lerp_(g, 1 - beta1))
  double beta2 = 0.999;              //                                 (v *= beta2)
  double one_minus_beta2 = 0.001;    // 1 - beta2                       (v += (1 - beta2) g g)
  double bias_correction2_sqrt = 1;  // sqrt(1 - beta2^t)
  double eps = 1e-8;
  double neg_step_size = -1e-3;      // -lr / (1 - beta1^t)             (p += -step_size * m / denom)
};

// p, g, m, v: n elements each, contiguous, on the current GPU; p, m and v are updated in place.
void adamw_step_f32(float* p, const float* g, float* m, float* v, int64_t n, const AdamWCoefficients& c);
void adamw_step_f64(double* p, const double* g, double* m, double* v, int64_t n, const AdamWCoefficients& c);

}  // namespace lab::cuda
