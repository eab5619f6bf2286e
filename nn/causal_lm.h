// CausalLM: what every decoder-only language model here offers (GPT-2 in gpt.h, LLaMA in llama.h),
// so that sampling, evaluation, training and the loralab tool are written once for both families.
//
//   forward(ids)          ids [B, T] -> logits [B, T, V]
//   forward(ids, cache)   the same for positions [cache.length(), cache.length() + T), reading and
//                         growing the KV cache (kv_cache.h): generation without re-reading the prompt
//
// load_causal_lm reads a Hugging Face folder of either family (config.json's model_type says which).
// Not here: the architectures themselves, sampling (sample.h). Next: gpt.h, llama.h.
#pragma once

#include "nn/kv_cache.h"
#include "nn/module.h"
#include "tensor/device.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lab::nn {

class CausalLM : public Module {
public:
  virtual Tensor forward(const Tensor& ids) = 0;
  // Positions continue from cache.length(); the cache grows by T. No graph is recorded (NoGradGuard
  // required: the cache is a buffer written in place).
  virtual Tensor forward(const Tensor& ids, KVCache& cache) = 0;
  // An empty cache for `batch` sequences, of capacity context_length().
  virtual KVCache make_kv_cache(int64_t batch) const = 0;
  // Mean cross-entropy of forward(ids) against targets [B, T] (i64), skipping ignore_index.
  virtual Tensor loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index = -100);

  virtual std::string family() const = 0;            // "gpt2" or "llama", config.json's model_type
  virtual int64_t vocab_size() const = 0;
  virtual int64_t context_length() const = 0;       // n_positions / max_position_embeddings
  virtual std::string summary() const = 0;          // one line: layers, heads, width, context, vocabulary
  virtual std::vector<std::string> default_lora_targets() const = 0;  // PEFT's for the family
  virtual std::string config_json() const = 0;      // the config.json this model would be saved with
  // Reseeds what the model's own dropout draws from (train mode): a training loop calls it each step,
  // so a run resumes exactly. LLaMA has no dropout, so by default there is nothing to reseed.
  virtual void seed_dropout(uint64_t seed) { (void)seed; }
  Device device() const;                            // where its first parameter lives
};

// config.json's model_type ("gpt2" when absent, as the GPT-2 reader has always assumed); a lab::Error
// for a missing file or bad JSON.
std::string model_type_of(const std::string& dir);
// A Hugging Face folder of either family: GPT-2 (gpt_checkpoint.h) or LLaMA (llama_checkpoint.h).
std::shared_ptr<CausalLM> load_causal_lm(const std::string& dir, Device device = Device::cpu());
// Hugging Face's default max_shard_size, "5GB" (transformers counts 10^9 bytes a GB).
constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;
// config.json + model.safetensors (f32) in the family's layout; merge LoRA layers first. A LLaMA whose
// weights pass max_shard_bytes is sharded as save_pretrained shards it (llama_checkpoint.h); GPT-2 is
// always one file, since load_gpt reads model.safetensors only.
void save_causal_lm(const CausalLM& model, const std::string& dir, uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace lab::nn
