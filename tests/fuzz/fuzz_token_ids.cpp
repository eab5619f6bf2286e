// libFuzzer target: parse_token_ids (data/text_file.h) on arbitrary bytes.
//
// The contract under test: any input either parses or throws lab::Error; nothing else (no crash, no
// read out of bounds, no signed overflow, no other exception type). What parses must hold only ids
// in [0, vocab_size), no more ids than whitespace-separated tokens, and parse again to the same ids
// when printed back. The first byte picks a small vocabulary, the rest is parsed with it and with 256.
// Run: ./lab fuzz token_ids [seconds]; seeds: tests/fuzz/token_ids/.
#include "data/text_file.h"
#include "tensor/error.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

static void check(std::string_view text, int64_t vocab) {
  try {
    std::vector<int64_t> ids = lab::data::parse_token_ids(text, vocab, "fuzz-input");
    if (ids.empty() || ids.size() > text.size()) std::abort();  // an id takes at least one byte
    std::string printed;
    for (int64_t id : ids) {
      if (id < 0 || id >= vocab) std::abort();  // an id outside the vocabulary got through
      printed += fmt::format("{}\n", id);
    }
    if (lab::data::parse_token_ids(printed, vocab, "round-trip") != ids) std::abort();
  } catch (const lab::Error&) {
    // a clear error is the right answer to a malformed file
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check(text, 256);
  if (size > 0) check(text.substr(1), 1 + int64_t(data[0]));
  return 0;
}
