// The fused SGD update on the GPU (weight decay, momentum with dampening, Nesterov) in one pass.
// CPU reference and the math: optim/sgd.cpp, which fills the coefficients on the host.
// Plain C++ (no CUDA headers), so optim/ can fill the struct with or without nvcc.
#pragma once

#include <cstdint>

namespace lab::cuda {

// The scalars of one torch.optim.SGD step, in double; each kernel rounds them to its element type.
struct SGDCoefficients {
  double weight_decay = 0;         // g = grad + weight_decay p         (skipped when 0, as PyTorch)
  double momentum = 0;             // buf = momentum buf + (1 - dampening) g   (no buffer when 0)
  double one_minus_dampening = 1;
  bool first_step = false;         // the buffer is new: buf = g
  bool nesterov = false;           // g = g + momentum buf, else g = buf
  double neg_lr = -1e-2;           // p += -lr g
};

// p, g: n contiguous elements on the current GPU; buf: n elements when momentum != 0, else null.
// p and buf are updated in place.
void sgd_step_f32(float* p, const float* g, float* buf, int64_t n, const SGDCoefficients& c);
void sgd_step_f64(double* p, const double* g, double* buf, int64_t n, const SGDCoefficients& c);

}  // namespace lab::cuda
