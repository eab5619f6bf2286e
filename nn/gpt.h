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
// replace_module any of them. A CausalLM (causal_lm.h): forward(ids, cache) continues from a KV cache.
// Not here: loading and saving (gpt_checkpoint.h), sampling (sample.h).
#pragma once

#include "nn/causal_lm.h"
#include "nn/gpt_config.h"
#include "tensor/random.h"

#include <memory>

namespace lab::nn {

class GPT : public CausalLM {
public:
  // Initialized as HF GPT-2 (_init_weights): Linear and Embedding weights ~ N(0, initializer_range),
  // biases 0, LayerNorm 1 and 0, every c_proj weight ~ N(0, initializer_range / sqrt(2 n_layer)).
  GPT(const GPTConfig& config, Generator& gen);

  // ids [B, T] i64, 1 <= T <= n_positions, each in [0, vocab_size) -> logits [B, T, vocab_size]
  Tensor forward(const Tensor& ids) override;
  // Positions [cache.length(), cache.length() + T) (wpe rows and causal mask), under NoGradGuard.
  Tensor forward(const Tensor& ids, KVCache& cache) override;
  KVCache make_kv_cache(int64_t batch) const override;
  // Mean cross-entropy of forward(ids) against targets [B, T] (i64), skipping ignore_index.
  Tensor loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index = -100) override;

  std::string family() const override { return "gpt2"; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t context_length() const override { return config_.n_positions; }
  std::string summary() const override;
  std::vector<std::string> default_lora_targets() const override { return {"c_attn"}; }
  std::string config_json() const override;

  const GPTConfig& config() const { return config_; }
  // What dropout draws from (train mode, pdrop > 0); a training loop reseeds it each step for an exact resume.
  Generator& dropout_generator() { return dropout_gen_; }
  void seed_dropout(uint64_t seed) override { dropout_gen_ = Generator(seed); }

private:
  Tensor run(const Tensor& ids, KVCache* cache);
  GPTConfig config_;
  Generator dropout_gen_;
};

}  // namespace lab::nn
