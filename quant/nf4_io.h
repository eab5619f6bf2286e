// NF4 tensors in safetensors files, under the names bitsandbytes and transformers use. For weight W:
//   W                                   U8  [(n + 1) / 2, 1]   the packed codes
//   W.absmax                            F32 [blocks]           (U8 [blocks] when double quantized)
//   W.quant_map                         F32 [16]               the NF4 table
//   W.nested_absmax, W.nested_quant_map F32 [blocks / 256], F32 [256]   only when double quantized
//   W.quant_state.bitsandbytes__nf4     U8  [len]   JSON as Python's json.dumps writes it:
//     {"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [out, in],
//      "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.0348...}
// Loading checks every field and tensor against the others; anything wrong is a lab::Error naming
// the file, the entry and the field. Not here: the codec (nf4.h).
#pragma once

#include "quant/nf4.h"
#include "tensor/safetensors.h"

#include <optional>
#include <string>
#include <vector>

namespace lab::quant {

// The fields of the JSON entry, as parsed and checked.
struct QuantStateFields {
  std::string quant_type;   // "nf4" (fp4 files are refused with a clear message)
  int64_t blocksize = 0;
  DType dtype = DType::f32;
  Shape shape;
  bool nested = false;
  int64_t nested_blocksize = 0;
  double nested_offset = 0;  // bitsandbytes keeps it as a float32 tensor: loading rounds it to float
};

// The JSON exactly as bitsandbytes writes it (json.dumps: ", " and ": " separators, fixed key order).
std::string quant_state_json(const NF4Tensor& q);
// Parses and checks the JSON bytes of entry `key` in `source` (a file name, for errors). Any bytes
// either parse or throw lab::Error: the fuzzing entry point (tests/fuzz/fuzz_quant_state.cpp).
QuantStateFields parse_quant_state(const std::string& source, const std::string& key, const uint8_t* data, size_t size);

// The tensors of one NF4 weight, named as above with `name` (e.g. "h.0.mlp.c_fc.weight").
NamedTensors nf4_state_dict(const NF4Tensor& q, const std::string& name);
// The weights that have a quant_state entry in the file (the names without the suffix), file order.
std::vector<std::string> nf4_names(const SafetensorsFile& file);
// One NF4 weight from a file, checked against every rule above; on `device`.
NF4Tensor load_nf4(const SafetensorsFile& file, const std::string& name, Device device = Device::cpu());

// Writes NF4 weights and any plain tensors (biases, ...) into one file with {"format": "pt"}.
void save_nf4(const std::string& path, const std::vector<std::pair<std::string, NF4Tensor>>& weights, const NamedTensors& others = {});

}  // namespace lab::quant
