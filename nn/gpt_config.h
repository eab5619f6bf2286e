// GPTConfig: the shape of a GPT-2 model, field for field as Hugging Face's GPT2Config and its
// config.json (so a folder written here loads in transformers, and a hub config.json loads here).
//
//   V vocab_size, P n_positions (context), C n_embd, L n_layer, H n_head (C % H == 0), inner (MLP width)
//
// parse_gpt_config reads what transformers writes: extra fields are ignored, the aliases hidden_size,
// max_position_embeddings, num_attention_heads, num_hidden_layers are accepted, and a missing field
// takes GPT2Config's default, as transformers does (the 124M model's values, dropouts 0.1).
// Not here: the model (gpt.h), weights (gpt_checkpoint.h). Next: gpt.h.
#pragma once

#include <cstdint>
#include <string>

namespace lab::nn {

struct GPTConfig {
  int64_t vocab_size = 256;
  int64_t n_positions = 128;  // context length
  int64_t n_embd = 128;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_inner = 0;  // 0 = 4 * n_embd (HF writes null)
  double layer_norm_epsilon = 1e-5;
  double embd_pdrop = 0.0, attn_pdrop = 0.0, resid_pdrop = 0.0;
  double initializer_range = 0.02;
  std::string activation_function = "gelu_new";  // only gelu_new (tanh GELU) is supported

  int64_t inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  int64_t head_dim() const { return n_embd / n_head; }
  // A lab::Error naming `source` and the field for the first bad value: sizes positive (and at most
  // 2^31 - 1, so products of two fit in int64), n_embd % n_head == 0, pdrops in [0, 1), eps > 0, ...
  void validate(const std::string& source) const;
  bool operator==(const GPTConfig&) const = default;
};

// Lesson 04's default model: the values above (4 layers, 4 heads, 128 wide, context 128, vocab 256).
GPTConfig tiny_gpt_config();
// A config.json's text; `source` (the file) starts every error message.
GPTConfig parse_gpt_config(const std::string& json_text, const std::string& source);
// What transformers writes: sorted keys, model_type "gpt2", architectures ["GPT2LMHeadModel"],
// n_ctx (= n_positions, for older readers), every field above, n_inner null when 0.
std::string gpt_config_json(const GPTConfig& c);
// A missing file, a directory or bad JSON is a lab::Error naming the path.
GPTConfig load_gpt_config(const std::string& path);

}  // namespace lab::nn
