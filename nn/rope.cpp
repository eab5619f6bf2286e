// The rotary tables and their application (see rope.h).
#include "nn/rope.h"

#include "autograd/ops.h"
#include "tensor/error.h"
#include "tensor/factory.h"

#include <cmath>
#include <vector>

namespace lab::nn {

RotaryTables rotary_tables(int64_t start, int64_t T, int64_t head_dim, double theta, Device device) {
  LAB_CHECK(head_dim > 0 && head_dim % 2 == 0, "rotary_tables: head_dim must be even and positive, got {}", head_dim);
  LAB_CHECK(start >= 0 && T >= 0 && std::isfinite(theta) && theta > 0, "rotary_tables: start {} and T {} must be >= 0, theta {} positive",
            start, T, theta);
  const int64_t half = head_dim / 2;
  // inv_freq[i] = 1 / theta^(2i / hd), in f32 as torch computes it
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; i++)
    inv_freq[size_t(i)] = 1.0f / std::pow(float(theta), float(2 * i) / float(head_dim));
  std::vector<float> c(size_t(T * head_dim)), s(size_t(T * head_dim));
  for (int64_t t = 0; t < T; t++)
    for (int64_t i = 0; i < half; i++) {
      // angle = position * inv_freq (f32), repeated for channel i and i + hd/2
      const float angle = float(start + t) * inv_freq[size_t(i)];
      const size_t a = size_t(t * head_dim + i), b = a + size_t(half);
      c[a] = c[b] = std::cos(angle);
      s[a] = s[b] = std::sin(angle);
    }
  return {from_vector(c, {T, head_dim}, device), from_vector(s, {T, head_dim}, device)};
}

Tensor apply_rotary(const Tensor& x, const RotaryTables& tables) {
  LAB_CHECK(x.dim() >= 2 && tables.cos.dim() == 2 && x.size(-2) == tables.cos.size(0) && x.size(-1) == tables.cos.size(1),
            "apply_rotary: x of shape {} does not fit tables of shape {} (expected x [..., T, hd])", shape_str(x.shape()),
            shape_str(tables.cos.shape()));
  const int64_t d = x.dim() - 1, half = x.size(-1) / 2;
  // rotate_half(x) = cat(-x[..., hd/2:], x[..., :hd/2])
  Tensor rotated = ag::cat({ag::neg(ag::slice(x, d, half, 2 * half)), ag::slice(x, d, 0, half)}, d);
  // x cos + rotate_half(x) sin
  return ag::add(ag::mul(x, tables.cos), ag::mul(rotated, tables.sin));
}

}  // namespace lab::nn
