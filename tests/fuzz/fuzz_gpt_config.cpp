// libFuzzer target: parse_gpt_config (nn/gpt_config.cpp) on arbitrary bytes as a config.json.
//
// The contract under test: any input either parses to a config that validate() accepts, or throws
// lab::Error; nothing else (no crash, no overflow, no other exception type). What parses must also
// write back (gpt_config_json) and parse again to the same config: the reader and writer agree.
// Run: ./lab fuzz gpt_config [seconds]; seeds: tests/fuzz/gpt_config/ (real config.json files).
#include "nn/gpt_config.h"
#include "tensor/error.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lab::nn::GPTConfig c;
  try {
    c = lab::nn::parse_gpt_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz-input");
  } catch (const lab::Error&) {
    return 0;  // a clear error is the right answer to a malformed config
  }
  // Outside the try: an error from here on is a bug, and libFuzzer reports the uncaught exception.
  c.validate("parsed");
  if (!(lab::nn::parse_gpt_config(lab::nn::gpt_config_json(c), "round-trip") == c)) std::abort();
  return 0;
}
