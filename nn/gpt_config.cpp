// GPTConfig: checking, reading and writing config.json (see gpt_config.h).
#include "nn/gpt_config.h"

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

// Reads an integer field that may be spelled `name` or (HF's attribute_map) `alias`.
void read_int(const json& j, const std::string& source, const char* name, const char* alias, int64_t* out) {
  const json* found = nullptr;
  const char* used = name;
  if (j.contains(name)) found = &j[name];
  if (alias != nullptr && j.contains(alias)) {
    LAB_CHECK(found == nullptr || *found == j[alias], "{}: both {} and its alias {} are set, to different values ({} and {})",
              source, name, alias, found == nullptr ? "" : json_io::dump(*found), json_io::dump(j[alias]));
    found = &j[alias];
    used = alias;
  }
  if (found == nullptr) return;
  bool fits = found->is_number_integer() && (!found->is_number_unsigned() || found->get<uint64_t>() <= uint64_t(kMaxSize));
  LAB_CHECK(fits, "{}: {} must be an integer of at most {}, got {}", source, used, kMaxSize, json_io::dump(*found));
  *out = found->get<int64_t>();
}

// A switch of GPT2Config that this implementation does not have: allowed only at the value we compute with.
void require_flag(const json& j, const std::string& source, const char* name, bool supported) {
  if (!j.contains(name)) return;
  LAB_CHECK(j[name].is_boolean(), "{}: {} must be true or false, got {}", source, name, json_io::dump(j[name]));
  LAB_CHECK(j[name].get<bool>() == supported, "{}: {} = {} is not supported (only {})", source, name, json_io::dump(j[name]), supported);
}

}  // namespace

void GPTConfig::validate(const std::string& source) const {
  check_size(source, "vocab_size", vocab_size);
  check_size(source, "n_positions", n_positions);
  check_size(source, "n_embd", n_embd);
  check_size(source, "n_layer", n_layer);
  check_size(source, "n_head", n_head);
  LAB_CHECK(n_embd % n_head == 0, "{}: n_embd ({}) must be a multiple of n_head ({}), so that each head gets n_embd / n_head channels",
            source, n_embd, n_head);
  LAB_CHECK(n_inner >= 0 && n_inner <= kMaxSize, "{}: n_inner must be positive, or 0 for 4 * n_embd, got {}", source, n_inner);
  LAB_CHECK(inner() <= kMaxSize, "{}: n_inner (4 * n_embd = {}) must be at most {}", source, inner(), kMaxSize);
  LAB_CHECK(std::isfinite(layer_norm_epsilon) && layer_norm_epsilon > 0, "{}: layer_norm_epsilon must be positive, got {}", source,
            layer_norm_epsilon);
  for (auto [field, p] : {std::pair{"embd_pdrop", embd_pdrop}, {"attn_pdrop", attn_pdrop}, {"resid_pdrop", resid_pdrop}})
    LAB_CHECK(p >= 0 && p < 1, "{}: {} must be in [0, 1), got {}", source, field, p);
  LAB_CHECK(std::isfinite(initializer_range) && initializer_range >= 0, "{}: initializer_range must be >= 0, got {}", source,
            initializer_range);
  LAB_CHECK(activation_function == "gelu_new",
            "{}: activation_function '{}' is not supported (HINT: GPT-2 uses \"gelu_new\", the tanh GELU, the only one implemented)",
            source, activation_function);
}

GPTConfig tiny_gpt_config() { return GPTConfig{}; }

GPTConfig parse_gpt_config(const std::string& json_text, const std::string& source) {
  json j = config_json::parse_object(json_text, source, "a config.json");
  if (j.contains("model_type")) {
    LAB_CHECK(j["model_type"] == "gpt2", "{}: model_type is {}, not \"gpt2\" (HINT: only GPT-2 checkpoints load here)", source,
              json_io::dump(j["model_type"]));
  }
  // GPT2Config's defaults: the 124M model, as transformers fills a field the file does not have.
  GPTConfig c;
  c.vocab_size = 50257, c.n_positions = 1024, c.n_embd = 768, c.n_layer = 12, c.n_head = 12, c.n_inner = 0;
  c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0.1;
  c.layer_norm_epsilon = 1e-5, c.initializer_range = 0.02, c.activation_function = "gelu_new";

  read_int(j, source, "vocab_size", nullptr, &c.vocab_size);
  read_int(j, source, "n_positions", "max_position_embeddings", &c.n_positions);
  read_int(j, source, "n_embd", "hidden_size", &c.n_embd);
  read_int(j, source, "n_layer", "num_hidden_layers", &c.n_layer);
  read_int(j, source, "n_head", "num_attention_heads", &c.n_head);
  if (j.contains("n_inner") && !j["n_inner"].is_null()) {
    read_int(j, source, "n_inner", nullptr, &c.n_inner);
    LAB_CHECK(c.n_inner > 0, "{}: n_inner must be a positive integer or null (for 4 * n_embd), got {}", source, c.n_inner);
  }
  read_double(j, source, "layer_norm_epsilon", &c.layer_norm_epsilon);
  read_double(j, source, "embd_pdrop", &c.embd_pdrop);
  read_double(j, source, "attn_pdrop", &c.attn_pdrop);
  read_double(j, source, "resid_pdrop", &c.resid_pdrop);
  read_double(j, source, "initializer_range", &c.initializer_range);
  if (j.contains("activation_function")) {
    LAB_CHECK(j["activation_function"].is_string(), "{}: activation_function must be a string, got {}", source,
              json_io::dump(j["activation_function"]));
    c.activation_function = j["activation_function"].get<std::string>();
  }
  require_flag(j, source, "scale_attn_weights", true);
  require_flag(j, source, "scale_attn_by_inverse_layer_idx", false);
  require_flag(j, source, "add_cross_attention", false);
  require_flag(j, source, "tie_word_embeddings", true);
  c.validate(source);
  return c;
}

std::string gpt_config_json(const GPTConfig& c) {
  json j;  // std::map underneath: keys come out sorted, as transformers writes them
  j["activation_function"] = c.activation_function;
  j["architectures"] = json::array({"GPT2LMHeadModel"});
  j["attn_pdrop"] = c.attn_pdrop;
  j["embd_pdrop"] = c.embd_pdrop;
  j["initializer_range"] = c.initializer_range;
  j["layer_norm_epsilon"] = c.layer_norm_epsilon;
  j["model_type"] = "gpt2";
  j["n_ctx"] = c.n_positions;
  j["n_embd"] = c.n_embd;
  j["n_head"] = c.n_head;
  j["n_inner"] = c.n_inner > 0 ? json(c.n_inner) : json(nullptr);
  j["n_layer"] = c.n_layer;
  j["n_positions"] = c.n_positions;
  j["resid_pdrop"] = c.resid_pdrop;
  j["vocab_size"] = c.vocab_size;
  return json_io::dump(j, 2) + "\n";
}

GPTConfig load_gpt_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  LAB_CHECK(fs::exists(path, ec), "{}: no such file (HINT: a model folder holds config.json and model.safetensors)", path);
  LAB_CHECK(!fs::is_directory(path, ec), "{}: is a folder, not a config.json (HINT: load_gpt reads a whole folder)", path);
  std::ifstream in(path, std::ios::binary);
  LAB_CHECK(in.good(), "{}: cannot open for reading", path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_gpt_config(text.str(), path);
}

}  // namespace lab::nn
