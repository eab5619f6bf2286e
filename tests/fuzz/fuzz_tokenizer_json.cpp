// libFuzzer target: Hugging Face tokenizer.json (data/tokenizer/load_tokenizer_json.h), encode and decode.
//
// The input is a tokenizer.json, a NUL byte, and a text. The contract: loading works or throws lab::Error
// (an unsupported component included); encoding works or throws lab::Error; every id is in
// [0, vocab_size); decoding those ids never throws; and for a pure byte-level file (ByteLevel pre-tokenizer
// without a prefix space, ByteLevel decoder, nothing else) decode(encode(text)) == text.
// Run: ./lab fuzz tokenizer_json [seconds]; seeds: tests/fuzz/tokenizer_json/.
#include "data/tokenizer/load_tokenizer_json.h"
#include "tensor/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

// True when the file is exactly GPT-2's pipeline, so the round trip must hold.
static bool pure_byte_level(std::string_view file) {
  auto j = nlohmann::json::parse(file, nullptr, false);
  auto is = [](const nlohmann::json& v, const char* type) { return v.is_object() && v.value("type", "") == type; };
  return j.is_object() && j.value("normalizer", nlohmann::json()).is_null() && is(j.value("pre_tokenizer", nlohmann::json()), "ByteLevel") &&
         j["pre_tokenizer"].value("add_prefix_space", true) == false && is(j.value("decoder", nlohmann::json()), "ByteLevel") &&
         is(j["model"], "BPE") && !j["model"].value("ignore_merges", false) && j["model"].value("unk_token", nlohmann::json()).is_null() &&
         j.value("added_tokens", nlohmann::json::array()).empty();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view file = input.substr(0, nul);
  std::string_view text = nul == std::string_view::npos ? "" : input.substr(nul + 1);
  std::unique_ptr<lab::data::BpeTokenizer> tok;
  std::vector<int64_t> ids;
  try {
    tok = lab::data::parse_tokenizer_json(file, "tokenizer.json");
    ids = tok->encode(text);
  } catch (const lab::Error&) {
    return 0;  // a clear error is the right answer to a malformed file
  }
  for (int64_t id : ids)
    if (id < 0 || id >= tok->vocab_size()) std::abort();  // an id the model has no row for
  std::string back = tok->decode(ids);                     // must not throw: every id came from the vocabulary
  if (pure_byte_level(file) && back != text) std::abort();
  return 0;
}
