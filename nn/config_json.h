// What reading a Hugging Face config.json needs for every model family (gpt_config.cpp, llama_config.cpp),
// and the JSON files beside it (adapter_config.json, model.safetensors.index.json): the text parsed with
// an error that names the file, sizes bounded so that a product of two fits in int64, and numbers
// checked by field name.
// Each family keeps its own reader of integer fields (GPT-2's accepts HF's aliases, LLaMA's a null).
#pragma once

#include "tensor/error.h"
#include "tensor/json_io.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace lab::nn::config_json {

constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();  // so that a product of two sizes fits in int64

// The text as JSON (a lab::Error naming `source` if it is not), and the top level must be an object:
// `what` names the file's kind ("a config.json").
inline nlohmann::json parse_object(const std::string& text, const std::string& source, const char* what) {
  nlohmann::json j = json_io::parse(text, source);
  LAB_CHECK(j.is_object(), "{}: {} must be a JSON object, got {}", source, what, j.type_name());
  return j;
}

inline void check_size(const std::string& source, const char* field, int64_t v) {
  LAB_CHECK(v > 0 && v <= kMaxSize, "{}: {} must be a positive integer (at most {}), got {}", source, field, kMaxSize, v);
}

inline void read_double(const nlohmann::json& j, const std::string& source, const char* name, double* out) {
  if (!j.contains(name)) return;
  LAB_CHECK(j[name].is_number(), "{}: {} must be a number, got {}", source, name, json_io::dump(j[name]));
  *out = j[name].get<double>();
}

}  // namespace lab::nn::config_json
