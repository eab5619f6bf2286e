// libFuzzer target: parse_llama_config (nn/llama_config.cpp) and parse_shard_index
// (nn/llama_checkpoint.cpp) on arbitrary bytes, each input given to both parsers.
//
// The contract under test: any input either parses or throws lab::Error; nothing else (no crash, no
// overflow, no other exception type). A config that parses passes validate() and writes back
// (llama_config_json) to the same config; an index that parses lists only plain .safetensors names,
// each shard once. Run: ./lab fuzz llama_config [seconds]; seeds: tests/fuzz/llama_config/.
#include "nn/llama_checkpoint.h"
#include "nn/llama_config.h"
#include "tensor/error.h"

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    lab::nn::LlamaConfig c = lab::nn::parse_llama_config(text, "fuzz-input");
    c.validate("parsed");  // an error from here on is a bug
    if (!(lab::nn::parse_llama_config(lab::nn::llama_config_json(c), "round-trip") == c)) std::abort();
  } catch (const lab::Error&) {
  }
  try {
    const lab::nn::ShardIndex index = lab::nn::parse_shard_index(text, "fuzz-input");
    const std::set<std::string> shards(index.shards.begin(), index.shards.end());
    if (index.weight_map.empty() || shards.size() != index.shards.size()) std::abort();
    for (const auto& [name, file] : index.weight_map)
      if (!shards.count(file) || file.find('/') != std::string::npos || file.size() <= 12) std::abort();
  } catch (const lab::Error&) {
  }
  return 0;
}
