// Llama: the LLaMA architecture (Touvron et al. 2023), parameter for parameter as Hugging Face's
// LlamaForCausalLM, so its checkpoints (SmolLM, TinyLlama, ...) load here (llama_checkpoint.h).
//
//   x = embed_tokens[ids]                                     ids [B, T] -> [B, T, C]
//   x = x + o_proj(attn(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = input_layernorm(x)
//   x = x + down_proj(silu(gate_proj(n)) * up_proj(n)),       n = post_attention_layernorm(x)
//   logits = lm_head(norm(x))                                 [B, T, V]; tied: norm(x) embed_tokens^T
//
// Attention is causal with grouped-query heads: query head h reads kv head h / (H / Hkv), as HF's
// repeat_kv, done here by broadcasting the kv heads in the matmul (no copies). RMSNorm: rms_norm.h;
// rotary embeddings, half-split as HF: rope.h. Every projection is an nn::Linear without bias, [out, in]
// as HF stores it, named as HF names it (model.layers.N.self_attn.q_proj, ...mlp.gate_proj, model.norm,
// lm_head), so inject_lora with target_modules {"q_proj", "v_proj"} works and PEFT's keys come out right.
// Not here: dropout (LLaMA has none), rope_scaling, sliding windows, biases. Next: llama_checkpoint.h.
#pragma once

#include "nn/causal_lm.h"
#include "nn/llama_config.h"
#include "tensor/random.h"

namespace lab::nn {

class Llama : public CausalLM {
public:
  // Initialized as HF's LlamaPreTrainedModel._init_weights: Linear and Embedding ~ N(0, initializer_range), norms 1.
  Llama(const LlamaConfig& config, Generator& gen);

  Tensor forward(const Tensor& ids) override;                    // ids [B, T], T <= max_position_embeddings
  Tensor forward(const Tensor& ids, KVCache& cache) override;
  KVCache make_kv_cache(int64_t batch) const override;

  std::string family() const override { return "llama"; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t context_length() const override { return config_.max_position_embeddings; }
  std::string summary() const override;
  std::vector<std::string> default_lora_targets() const override { return {"q_proj", "v_proj"}; }
  std::string config_json() const override;
  const LlamaConfig& config() const { return config_; }

private:
  Tensor run(const Tensor& ids, KVCache* cache);
  LlamaConfig config_;
};

}  // namespace lab::nn
