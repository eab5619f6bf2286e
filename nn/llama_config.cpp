// LlamaConfig: checking, reading and writing config.json (see llama_config.h).
#include "nn/llama_config.h"

#include "nn/config_json.h"
#include "tensor/error.h"
#include "tensor/json_io.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace lab::nn {

namespace {

using json = nlohmann::json;
using config_json::check_size, config_json::kMaxSize, config_json::read_double;

void read_int(const json& j, const std::string& source, const char* name, int64_t* out) {
  if (!j.contains(name) || j[name].is_null()) return;
  const json& v = j[name];
  bool fits = v.is_number_integer() && (!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(kMaxSize)) &&
              (v.is_number_unsigned() || v.get<int64_t>() >= -kMaxSize);
  LAB_CHECK(fits, "{}: {} must be an integer of at most {}, got {}", source, name, kMaxSize, json_io::dump(v));
  *out = v.get<int64_t>();
}

void read_bool(const json& j, const std::string& source, const char* name, bool* out) {
  if (!j.contains(name)) return;
  LAB_CHECK(j[name].is_boolean(), "{}: {} must be true or false, got {}", source, name, json_io::dump(j[name]));
  *out = j[name].get<bool>();
}

// A feature of LlamaConfig this implementation does not have: allowed only absent, null or false.
void require_off(const json& j, const std::string& source, const char* name, const char* hint) {
  if (!j.contains(name)) return;
  const json& v = j[name];
  const bool off = v.is_null() || (v.is_boolean() && !v.get<bool>());
  LAB_CHECK(off, "{}: {} = {} is not supported (HINT: {})", source, name, json_io::dump(v), hint);
}

}  // namespace

void LlamaConfig::validate(const std::string& source) const {
  check_size(source, "vocab_size", vocab_size);
  check_size(source, "hidden_size", hidden_size);
  check_size(source, "intermediate_size", intermediate_size);
  check_size(source, "num_hidden_layers", num_hidden_layers);
  check_size(source, "num_attention_heads", num_attention_heads);
  check_size(source, "num_key_value_heads", num_key_value_heads);
  check_size(source, "max_position_embeddings", max_position_embeddings);
  LAB_CHECK(num_attention_heads % num_key_value_heads == 0,
            "{}: num_attention_heads ({}) must be a multiple of num_key_value_heads ({}): each kv head serves a whole group of query heads",
            source, num_attention_heads, num_key_value_heads);
  LAB_CHECK(head_dim >= 0 && head_dim <= kMaxSize, "{}: head_dim must be positive (or absent), got {}", source, head_dim);
  LAB_CHECK(head_dim > 0 || hidden_size % num_attention_heads == 0,
            "{}: hidden_size ({}) must be a multiple of num_attention_heads ({}) when head_dim is not given", source, hidden_size,
            num_attention_heads);
  LAB_CHECK(hd() % 2 == 0, "{}: the head dimension ({}) must be even: rotary embeddings rotate pairs of channels", source, hd());
  LAB_CHECK(num_attention_heads * hd() <= kMaxSize, "{}: num_attention_heads x head_dim = {} is too large", source, num_attention_heads * hd());
  LAB_CHECK(std::isfinite(rms_norm_eps) && rms_norm_eps > 0, "{}: rms_norm_eps must be positive, got {}", source, rms_norm_eps);
  LAB_CHECK(std::isfinite(rope_theta) && rope_theta > 1, "{}: rope_theta must be a number > 1, got {}", source, rope_theta);
  LAB_CHECK(std::isfinite(initializer_range) && initializer_range >= 0, "{}: initializer_range must be >= 0, got {}", source,
            initializer_range);
}

LlamaConfig parse_llama_config(const std::string& json_text, const std::string& source) {
  json j = config_json::parse_object(json_text, source, "a config.json");
  LAB_CHECK(j.contains("model_type") && j["model_type"] == "llama", "{}: model_type is {}, expected \"llama\"", source,
            j.contains("model_type") ? json_io::dump(j["model_type"]) : "missing");
  // LlamaConfig's defaults (Llama-2 7B), as transformers fills a field the file does not have.
  LlamaConfig c;
  c.vocab_size = 32000, c.hidden_size = 4096, c.intermediate_size = 11008, c.num_hidden_layers = 32, c.num_attention_heads = 32;
  c.num_key_value_heads = 0, c.head_dim = 0, c.max_position_embeddings = 2048, c.rms_norm_eps = 1e-6, c.rope_theta = 10000.0;
  c.initializer_range = 0.02, c.tie_word_embeddings = false;

  read_int(j, source, "vocab_size", &c.vocab_size);
  read_int(j, source, "hidden_size", &c.hidden_size);
  read_int(j, source, "intermediate_size", &c.intermediate_size);
  read_int(j, source, "num_hidden_layers", &c.num_hidden_layers);
  read_int(j, source, "num_attention_heads", &c.num_attention_heads);
  read_int(j, source, "num_key_value_heads", &c.num_key_value_heads);
  if (c.num_key_value_heads == 0) c.num_key_value_heads = c.num_attention_heads;  // HF: null means plain multi-head attention
  read_int(j, source, "head_dim", &c.head_dim);
  LAB_CHECK(c.head_dim != 0 || !j.contains("head_dim") || j["head_dim"].is_null(), "{}: head_dim must be positive, got 0", source);
  read_int(j, source, "max_position_embeddings", &c.max_position_embeddings);
  read_double(j, source, "rms_norm_eps", &c.rms_norm_eps);
  read_double(j, source, "rope_theta", &c.rope_theta);
  read_double(j, source, "initializer_range", &c.initializer_range);
  read_bool(j, source, "tie_word_embeddings", &c.tie_word_embeddings);

  if (j.contains("hidden_act")) {
    LAB_CHECK(j["hidden_act"] == "silu", "{}: hidden_act = {} is not supported (HINT: LLaMA's SwiGLU MLP uses \"silu\", the only one implemented)",
              source, json_io::dump(j["hidden_act"]));
  }
  require_off(j, source, "rope_scaling", "only plain RoPE is implemented: Llama-3.1's \"llama3\", linear and dynamic scaling are not");
  require_off(j, source, "attention_bias", "this LLaMA has no biases on q/k/v/o (Qwen-style models do); only attention_bias false is supported");
  require_off(j, source, "mlp_bias", "this LLaMA has no biases on the MLP projections; only mlp_bias false is supported");
  if (j.contains("pretraining_tp")) {  // a slicing of the same products: any value computes the same logits
    LAB_CHECK(j["pretraining_tp"].is_number_integer() && j["pretraining_tp"].get<int64_t>() >= 1, "{}: pretraining_tp must be an integer >= 1, got {}",
              source, json_io::dump(j["pretraining_tp"]));
  }
  c.validate(source);
  if (c.head_dim == 0) c.head_dim = c.hidden_size / c.num_attention_heads;  // as LlamaConfig.__init__ fills it
  return c;
}

std::string llama_config_json(const LlamaConfig& c) {
  json j;  // nlohmann's object sorts its keys, as transformers' to_json_string(sort_keys=True)
  j["architectures"] = json::array({"LlamaForCausalLM"});
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["head_dim"] = c.hd();
  j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = c.initializer_range;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["mlp_bias"] = false;
  j["model_type"] = "llama";
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["pretraining_tp"] = 1;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_scaling"] = nullptr;
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = "float32";
  j["use_cache"] = true;
  j["vocab_size"] = c.vocab_size;
  return json_io::dump(j, 2) + "\n";
}

LlamaConfig load_llama_config(const std::string& path) {
  LAB_CHECK(!std::filesystem::is_directory(path), "{}: is a folder, expected a config.json file", path);
  std::ifstream in(path);
  LAB_CHECK(in, "{}: cannot open (HINT: a LLaMA checkpoint folder holds config.json and model.safetensors)", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_llama_config(ss.str(), path);
}

}  // namespace lab::nn
