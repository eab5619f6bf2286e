// libFuzzer target: parse_adapter_config (nn/lora_io.cpp) on arbitrary bytes as a PEFT adapter_config.json.
//
// The contract under test: any input either parses to a config that LoraConfig::validate accepts, or
// throws lab::Error; nothing else (no crash, no other exception type, std::regex_error included).
// What parses must also write back (adapter_config_json) and parse again to the same fields, and
// write the same text a second time: the reader and the writer agree.
// Run: ./lab fuzz adapter_config [seconds]; seeds: tests/fuzz/adapter_config/ (PEFT's and loralab's files).
#include "nn/lora_io.h"
#include "tensor/error.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lab::nn::AdapterConfig c;
  try {
    c = lab::nn::parse_adapter_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz-input");
  } catch (const lab::Error&) {
    return 0;  // a clear error is the right answer to a malformed config
  }
  // Outside the try: an error from here on is a bug, and libFuzzer reports the uncaught exception.
  c.lora.validate("parsed");
  const std::string text = lab::nn::adapter_config_json(c);
  const lab::nn::AdapterConfig back = lab::nn::parse_adapter_config(text, "round-trip");
  const lab::nn::LoraConfig &a = c.lora, &b = back.lora;
  const bool same = a.r == b.r && a.lora_alpha == b.lora_alpha && a.lora_dropout == b.lora_dropout && a.target_modules == b.target_modules &&
                    a.target_regex == b.target_regex && a.use_rslora == b.use_rslora && a.bias == b.bias &&
                    c.base_model_name_or_path == back.base_model_name_or_path && c.task_type == back.task_type &&
                    c.fan_in_fan_out == back.fan_in_fan_out;
  if (!same || lab::nn::adapter_config_json(back) != text) std::abort();
  return 0;
}
