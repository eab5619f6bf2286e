// LlamaConfig: the shape of a LLaMA-architecture model, field for field as Hugging Face's LlamaConfig
// and its config.json (SmolLM, TinyLlama, Llama-2/3 without rope scaling, ...).
//
//   V vocab_size, C hidden_size, I intermediate_size, L num_hidden_layers,
//   H num_attention_heads, Hkv num_key_value_heads (GQA: H % Hkv == 0), hd head_dim (default C / H)
//
// parse_llama_config reads what transformers writes: unknown fields are ignored; a missing field takes
// LlamaConfig's default; a feature this model does not support (rope_scaling, attention_bias, mlp_bias, an
// activation other than silu) is a lab::Error naming the field. Not here: the model (llama.h).
#pragma once

#include <cstdint>
#include <string>

namespace lab::nn {

struct LlamaConfig {
  int64_t vocab_size = 256;
  int64_t hidden_size = 64;
  int64_t intermediate_size = 128;
  int64_t num_hidden_layers = 2;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 2;
  int64_t head_dim = 0;  // 0: hidden_size / num_attention_heads
  int64_t max_position_embeddings = 128;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double initializer_range = 0.02;
  bool tie_word_embeddings = false;

  int64_t hd() const { return head_dim > 0 ? head_dim : hidden_size / num_attention_heads; }
  int64_t kv_groups() const { return num_attention_heads / num_key_value_heads; }  // query heads per kv head
  // A lab::Error naming `source` and the field: sizes positive (at most 2^31 - 1), H % Hkv == 0,
  // hd even (rotary pairs), C % H == 0 when head_dim is not given, eps and theta positive.
  void validate(const std::string& source) const;
  bool operator==(const LlamaConfig&) const = default;
};

// A config.json's text; `source` (the file) starts every error message. model_type must be "llama".
LlamaConfig parse_llama_config(const std::string& json_text, const std::string& source);
// What transformers writes: sorted keys, model_type "llama", architectures ["LlamaForCausalLM"],
// hidden_act "silu", rope_scaling null, attention_bias and mlp_bias false.
std::string llama_config_json(const LlamaConfig& c);
// A missing file, a directory or bad JSON is a lab::Error naming the path.
LlamaConfig load_llama_config(const std::string& path);

}  // namespace lab::nn
