// Causal self-attention, as GPT-2 computes it (Vaswani et al. 2017, sec. 3.2; Radford et al. 2019).
//
//   qkv = c_attn(x)                 x [B, T, C] -> [B, T, 3C], split Q | K | V along the last dim
//   q, k, v -> [B, H, T, hd]        hd = C / H, each head its own slice of channels
//   a = causal_softmax(q k^T / sqrt(hd))   [B, H, T, T], query i sees keys j <= i
//   y = c_proj(merge_heads(dropout(a) v))  [B, T, C], then dropout
//
// c_attn and c_proj are nn::Linear children looked up by name in forward, so LoRA can replace
// either. Dropout draws from the generator the caller passes (the model's one, see gpt.h).
// With a KV cache (kv_cache.h) the new keys and values join the cached ones, and the new queries
// attend over all of them. Not here: flash-style fused kernels.
// Next: gpt.h, which stacks blocks of this and nn::MLP.
#pragma once

#include "nn/gpt_config.h"
#include "nn/kv_cache.h"
#include "nn/module.h"
#include "tensor/random.h"

namespace lab::nn {

class CausalSelfAttention : public Module {
public:
  CausalSelfAttention(const GPTConfig& config, Generator& gen);
  Tensor forward(const Tensor& x, Generator& dropout_gen);  // x [B, T, C] -> [B, T, C]
  // The same, appending this layer's keys and values to cache (when not null) and attending over all of them.
  Tensor forward(const Tensor& x, Generator& dropout_gen, KVCache* cache, int64_t layer);

private:
  int64_t n_embd_, n_head_;
  double attn_pdrop_, resid_pdrop_;
};

}  // namespace lab::nn
