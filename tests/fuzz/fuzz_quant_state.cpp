// libFuzzer target: the NF4 quant_state reader (quant/nf4_io.cpp) on arbitrary bytes.
//
// An input that starts with '{' is the JSON text of a quant_state entry: it must parse or throw
// lab::Error. When it parses (and is small), a file is built around it with tensors of the sizes it
// implies; that file must load, dequantize, and write back the same JSON. Any other input is a
// whole safetensors file: every NF4 weight in it must load (and dequantize) or throw lab::Error.
// Run: ./lab fuzz quant_state [seconds]; seeds: tests/fuzz/quant_state/ (JSON and whole files).
#include "quant/nf4_io.h"
#include "tensor/error.h"
#include "tensor/factory.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace lab;
using namespace lab::quant;

static void json_input(const uint8_t* data, size_t size) {
  const QuantStateFields f = parse_quant_state("fuzz-input", "w.quant_state.bitsandbytes__nf4", data, size);
  NF4Tensor q;
  q.shape = f.shape;
  q.dtype = f.dtype;
  q.blocksize = f.blocksize;
  if (q.numel() > (int64_t(1) << 16)) return;  // a valid but large shape: nothing more to learn from allocating it
  q.packed = zeros({(q.numel() + 1) / 2, 1}, DType::u8);
  if (f.nested) {
    q.nested.codes = zeros({q.blocks()}, DType::u8);
    q.nested.absmax2 = zeros({num_blocks(q.blocks(), f.nested_blocksize)});
    q.nested.blocksize = f.nested_blocksize;
    q.nested.offset = float(f.nested_offset);
    q.nested.map = dynamic_map_signed();
  } else {
    q.absmax = zeros({q.blocks()});
  }
  NamedTensors tensors = nf4_state_dict(q, "w");
  tensors.back().second = from_vector(std::vector<uint8_t>(data, data + size));  // the fuzzed JSON itself
  SafetensorsFile file = SafetensorsFile::from_bytes("fuzz-file", serialize_safetensors(tensors));
  const NF4Tensor back = load_nf4(file, "w");  // consistent by construction: must not throw
  if (dequantize_nf4(back).numel() != q.numel()) std::abort();
  const std::string again = quant_state_json(back);
  const QuantStateFields g = parse_quant_state("round-trip", "w", reinterpret_cast<const uint8_t*>(again.data()), again.size());
  if (g.shape != f.shape || g.blocksize != f.blocksize || g.nested != f.nested || float(g.nested_offset) != float(f.nested_offset)) std::abort();
}

static void file_input(const uint8_t* data, size_t size) {
  SafetensorsFile file = SafetensorsFile::from_bytes("fuzz-file", std::vector<uint8_t>(data, data + size));
  for (const std::string& name : nf4_names(file)) {
    try {
      (void)dequantize_nf4(load_nf4(file, name));
    } catch (const Error&) {
      // one bad weight: try the next
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    if (size > 0 && data[0] == '{') json_input(data, size);
    else file_input(data, size);
  } catch (const Error&) {
    // A clear error is the right answer to malformed input.
  }
  return 0;
}
