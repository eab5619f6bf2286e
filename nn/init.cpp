// The fills of init.h: draw on the CPU, transform, copy into the tensor.
#include "nn/init.h"

#include "tensor/elementwise.h"
#include "tensor/factory.h"

#include <cmath>

namespace lab::nn::init {

// x = low + (high - low) * u,  u ~ U[0, 1)
void uniform_(const Tensor& t, double low, double high, Generator& gen) { t.copy_(add(mul(rand(t.shape(), gen), high - low), low)); }

// x = mean + std * z,  z ~ N(0, 1)
void normal_(const Tensor& t, double mean, double std, Generator& gen) { t.copy_(add(mul(randn(t.shape(), gen), std), mean)); }

void zeros_(const Tensor& t) { t.fill_(0.0); }
void ones_(const Tensor& t) { t.fill_(1.0); }

int64_t fan_in(const Tensor& t) {
  LAB_CHECK(t.dim() >= 2, "fan_in: needs a weight of 2 or more dims [out, in, ...], got shape {}", shape_str(t.shape()));
  return t.numel() / t.size(0);
}

// gain = sqrt(2 / (1 + a^2)),  bound = gain * sqrt(3 / fan_in)   (He et al. 2015, PyTorch's kaiming_uniform_)
// With a = sqrt(5), nn.Linear's default: gain = sqrt(1/3), so bound = 1 / sqrt(fan_in).
double kaiming_uniform_(const Tensor& t, double a, Generator& gen) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / double(fan_in(t)));
  uniform_(t, -bound, bound, gen);
  return bound;
}

}  // namespace lab::nn::init
