// libFuzzer target: the safetensors reader on arbitrary bytes.
//
// The contract under test: any input either parses, or throws lab::Error; nothing else (no crash,
// no read out of bounds, no other exception type, no hang). What parses must also load every
// tensor, write back, and parse again to the same header: the reader and writer agree.
// Run: ./lab fuzz safetensors [seconds]; seeds: tests/fuzz/safetensors/ (the test fixtures).
#include "tensor/error.h"
#include "tensor/safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    lab::SafetensorsFile file = lab::SafetensorsFile::from_bytes("fuzz-input", std::vector<uint8_t>(data, data + size));
    lab::NamedTensors tensors;
    for (const std::string& name : file.names()) tensors.push_back({name, file.load(name)});
    std::vector<uint8_t> again = lab::serialize_safetensors(tensors, file.metadata(), {.add_format_pt = false});
    lab::SafetensorsHeader header = lab::parse_safetensors("round-trip", again.data(), again.size());
    if (header.entries.size() != file.entries().size()) std::abort();  // the writer lost or invented a tensor
  } catch (const lab::Error&) {
    // A clear error is the right answer to a malformed file.
  }
  return 0;
}
