// libFuzzer target: GPT-2's vocab.json + merges.txt (data/tokenizer/load_gpt2_files.h), then encode.
//
// The input is three parts split at NUL bytes: vocab.json, merges.txt, and a text to encode. The contract:
// loading either works or throws lab::Error; so does encoding (a vocabulary without all 256 byte
// characters cannot encode every text); what encodes has ids in [0, vocab_size) and decodes to the
// text, byte for byte, whatever the bytes. Run: ./lab fuzz bpe_files [seconds]; seeds: tests/fuzz/bpe_files/.
#include "data/tokenizer/load_gpt2_files.h"
#include "tensor/error.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t first = input.find('\0');
  size_t second = first == std::string_view::npos ? first : input.find('\0', first + 1);
  std::string_view vocab = input.substr(0, first);
  std::string_view merges = first == std::string_view::npos ? "" : input.substr(first + 1, second - first - 1);
  std::string_view text = second == std::string_view::npos ? "" : input.substr(second + 1);
  try {
    auto tok = lab::data::parse_gpt2_files(vocab, "vocab.json", merges, "merges.txt");
    std::vector<int64_t> ids = tok->encode(text);
    for (int64_t id : ids)
      if (id < 0 || id >= tok->vocab_size()) std::abort();  // an id the model has no row for
    if (tok->decode(ids) != text) std::abort();             // the round trip GPT-2's byte-level BPE promises
  } catch (const lab::Error&) {
    // a clear error is the right answer to a malformed file
  }
  return 0;
}
