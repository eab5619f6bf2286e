// GPT: the GPT-2 language model (Radford et al. 2019), parameter for parameter as Hugging Face's
// GPT2LMHeadModel, so its checkpoints load here (gpt_checkpoint.h) and ours load there.
//
//   x = wte[ids] + wpe[0..T)                       ids [B, T] -> x [B, T, C], then dropout
//   x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))   each of n_layer blocks h.N (pre-LayerNorm)
//   logits = ln_f(x) wte^T                         [B, T, V]: the LM head is tied to wte
//
// Parameter names are HF's without "transformer.": wte.weight, wpe.weight, h.N.ln_1.{weight,bias},
// h.N.attn.c_attn, h.N.attn.c_proj, h.N.ln_2, h.N.mlp.c_fc, h.N.mlp.c_proj, ln_f. The four
// projections are nn::Linear ([out, in]) children looked up by name at forward time, so LoRA can
// replace_module any of them. Not here: loading and saving (gpt_checkpoint.h), sampling (sample.h).
#pragma once

#include "nn/gpt_config.h"
#include "nn/module.h"
#include "tensor/random.h"

#include <memory>

namespace lab::nn {

class GPT : public Module {
public:
  // Initialized as HF GPT-2 (_init_weights): Linear and Embedding weights ~ N(0, initializer_range),
  // biases 0, LayerNorm 1 and 0, every c_proj weight ~ N(0, initializer_range / sqrt(2 n_layer)).
  GPT(const GPTConfig& config, Generator& gen);

  // ids [B, T] i64, 1 <= T <= n_positions, each in [0, vocab_size) -> logits [B, T, vocab_size]
  Tensor forward(const Tensor& ids);
  // Mean cross-entropy of forward(ids) against targets [B, T] (i64), skipping ignore_index.
  Tensor loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index = -100);

  const GPTConfig& config() const { return config_; }
  // What dropout draws from (train mode, pdrop > 0); a training loop reseeds it each step for an exact resume.
  Generator& dropout_generator() { return dropout_gen_; }

private:
  GPTConfig config_;
  Generator dropout_gen_;
};

}  // namespace lab::nn
