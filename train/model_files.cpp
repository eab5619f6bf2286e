// read_model_info and tokenizer_for (see model_files.h).
#include "train/model_files.h"

#include "nn/causal_lm.h"
#include "nn/gpt_config.h"
#include "nn/llama_checkpoint.h"
#include "nn/llama_config.h"
#include "quant/nf4_checkpoint.h"
#include "tensor/full_match.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace lab::train {

namespace fs = std::filesystem;

ModelInfo read_model_config(const std::string& dir) {
  ModelInfo m;
  m.dir = dir;
  m.family = nn::model_type_of(dir);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  bool tied = true;
  if (m.family == "gpt2") {
    const nn::GPTConfig c = nn::load_gpt_config(config_path);
    m.summary = fmt::format("gpt2: {} layers, {} heads, {} wide, MLP {}, context {}, vocab {}, head tied to wte", c.n_layer, c.n_head, c.n_embd,
                            c.inner(), c.n_positions, c.vocab_size);
    m.vocab_size = c.vocab_size, m.context = c.n_positions, m.lora_targets = {"c_attn"}, m.shape = shape_of(c, "GPT-2");
  } else if (m.family == "llama") {
    const nn::LlamaConfig c = nn::load_llama_config(config_path);
    m.summary = fmt::format("llama: {} layers, {} heads ({} kv heads, head_dim {}), {} wide, MLP {}, context {}, vocab {}, rope_theta {}, {} head",
                            c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads, c.hd(), c.hidden_size, c.intermediate_size,
                            c.max_position_embeddings, c.vocab_size, c.rope_theta, c.tie_word_embeddings ? "tied" : "untied");
    m.vocab_size = c.vocab_size, m.context = c.max_position_embeddings, m.lora_targets = {"q_proj", "v_proj"};
    m.shape = shape_of(c, "LLaMA");
    tied = c.tie_word_embeddings;
  } else {
    LAB_FAIL("{}: model_type \"{}\" is not one loralab knows (HINT: GPT-2 (\"gpt2\") and LLaMA-architecture (\"llama\") checkpoints load)",
             config_path, m.family);
  }
  m.nf4 = json_io::read_file(config_path).contains("quantization_config");
  m.tied_head = tied;
  return m;
}

ModelInfo read_model_info(const std::string& dir) {
  ModelInfo m = read_model_config(dir);
  const bool tied = m.tied_head;
  const nn::CheckpointFiles files = nn::checkpoint_files(dir);
  m.files = files.files;
  m.index = files.index_path;
  // not parameters: GPT-2's causal-mask buffers, older LLaMAs' rotary tables; a tied head is the embedding
  static const FullMatch buffer(R"((.*\.attn\.(bias|masked_bias))|(.*rotary_emb\.inv_freq))", "buffer names");
  for (const std::string& path : m.files) {
    SafetensorsFile f = SafetensorsFile::open(path);
    for (const SafetensorsEntry& e : f.entries()) {
      m.dtypes[dtype_safetensors_name(e.dtype)] += 1;
      m.tensor_bytes += e.nbytes();
      if (buffer(e.name) || (tied && e.name == "lm_head.weight")) continue;
      m.parameters += numel(e.shape);
    }
  }
  return m;
}

std::shared_ptr<nn::CausalLM> load_model(const std::string& dir, Device device) {
  return read_model_config(dir).nf4 ? quant::load_nf4_model(dir, device) : nn::load_causal_lm(dir, device);
}

bool has_tokenizer_files(const std::string& dir) {
  const fs::path d(dir);
  return fs::is_regular_file(d / "tokenizer.json") || (fs::is_regular_file(d / "vocab.json") && fs::is_regular_file(d / "merges.txt"));
}

std::unique_ptr<data::Tokenizer> tokenizer_for(const std::string& dir, int64_t vocab_size, const std::string& what) {
  if (has_tokenizer_files(dir)) {
    std::unique_ptr<data::Tokenizer> t = data::load_tokenizer(dir);
    LAB_CHECK(t->vocab_size() <= vocab_size, "{}: its tokenizer ({}) has {} tokens, more than the model's vocab_size {}", dir, t->describe(),
              t->vocab_size(), vocab_size);
    return t;
  }
  LAB_CHECK(vocab_size == data::kByteVocab,
            "{}, so it needs a byte-level model (vocab_size {}); {} has vocab_size {} and no tokenizer (tokenizer.json, or vocab.json + "
            "merges.txt) (HINT: copy the model's tokenizer files into the folder)",
            what, data::kByteVocab, dir, vocab_size);
  return std::make_unique<data::ByteTokenizer>();
}

}  // namespace lab::train
