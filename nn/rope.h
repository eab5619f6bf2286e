// Rotary position embeddings (Su et al. 2021, RoFormer sec. 3.4) as Hugging Face's LLaMA applies them:
// the pairs rotated together are (i, i + hd/2), "half-split" (NeoX), not Meta's interleaved (2i, 2i+1).
//
//   inv_freq[i] = 1 / theta^(2i / hd)                i in [0, hd/2), f32 as HF computes it
//   angle[t, i] = position_t * inv_freq[i];  emb = cat(angle, angle)   [T, hd]
//   rope(x)     = x cos(emb) + rotate_half(x) sin(emb),   rotate_half(x) = cat(-x[..., hd/2:], x[..., :hd/2])
//
// Positions start at `start`, so a KV cache (kv_cache.h) rotates new tokens at their true positions.
// Not here: rope_scaling (llama3, linear, dynamic NTK: llama_config.cpp refuses them). Next: llama.h.
#pragma once

#include "tensor/device.h"
#include "tensor/tensor.h"

namespace lab::nn {

struct RotaryTables {
  Tensor cos, sin;  // [T, hd] f32
};

// The tables of positions [start, start + T) for heads of `head_dim` (even) channels.
RotaryTables rotary_tables(int64_t start, int64_t T, int64_t head_dim, double theta, Device device = Device::cpu());

// x [..., T, hd] -> the same shape, rotated; differentiable in x (the tables are constants).
Tensor apply_rotary(const Tensor& x, const RotaryTables& tables);

}  // namespace lab::nn
