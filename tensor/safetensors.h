// Safetensors files: read them (mmap, with every check of the reference reader and a few more) and
// write them (atomically, byte for byte what huggingface/safetensors writes).
//
//   [8 bytes: N, u64 little-endian][N bytes: JSON header][data section: every tensor, packed]
//   header: {"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}
//
// data_offsets are [begin, end) byte offsets into the data section; the tensors must cover it
// exactly, with no holes and no overlaps. Bad bytes give a lab::Error that starts with the file
// name, then the tensor, then what was expected and what was found; never a crash.
// Not here: checkpoints of whole models (nn/), sharded checkpoints (tools/loralab/inspect.cpp lists them).
#pragma once

#include "tensor/tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lab {

// One tensor as the header describes it.
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  uint64_t begin = 0;  // [begin, end): bytes of the data section
  uint64_t end = 0;
  uint64_t nbytes() const { return end - begin; }
};

// A header that passed every check.
struct SafetensorsHeader {
  uint64_t header_size = 0;                     // N: bytes of JSON, padding included
  std::vector<SafetensorsEntry> entries;        // in file order (by data offset)
  std::map<std::string, std::string> metadata;  // "__metadata__"
  uint64_t data_start() const { return 8 + header_size; }
};

// Checks `size` bytes as a whole safetensors file: header, dtypes, shapes, offsets, and that the
// data section is covered exactly. `name` only appears in error messages. Reads nothing outside
// [data, data + size), whatever the bytes: this is the entry point for fuzzing.
SafetensorsHeader parse_safetensors(const std::string& name, const uint8_t* data, size_t size);

// A safetensors file, checked when opened and kept mapped (read-only) until the object goes away.
class SafetensorsFile {
public:
  static SafetensorsFile open(const std::string& path);
  // The same checks on bytes already in memory (a copy is kept); `name` stands for the file in errors.
  static SafetensorsFile from_bytes(const std::string& name, std::vector<uint8_t> bytes);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  uint64_t header_size() const { return header_.header_size; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const std::vector<SafetensorsEntry>& entries() const { return header_.entries; }  // file order
  std::vector<std::string> names() const;                                          // file order
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  // A missing name is an error that lists the closest names in the file.
  const SafetensorsEntry& info(const std::string& name) const;

  // A copy of the tensor's bytes in a new, allocator-owned tensor (so memory_stats counts it).
  Tensor load(const std::string& name, Device device = Device::cpu()) const;
  std::map<std::string, Tensor> load_all(Device device = Device::cpu()) const;

private:
  struct Bytes;  // the mapping (or the owned copy); unmapped by its destructor
  SafetensorsFile(std::string path, std::unique_ptr<Bytes> bytes);

  std::string path_;
  std::unique_ptr<Bytes> bytes_;
  uint64_t size_ = 0;
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in header_.entries
};

// Every tensor of a file, by name.
std::map<std::string, Tensor> load_safetensors(const std::string& path, Device device = Device::cpu());

struct SafetensorsWriteOptions {
  // Add "format": "pt" to the metadata (unless it has a "format" key already): transformers and
  // PEFT look for it. Off only to reproduce files written without metadata.
  bool add_format_pt = true;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes tensors of any dtype, device and layout (each is packed on the CPU on its way out).
// Order as the reference writer: by dtype (widest first), then by name. The file appears whole or
// not at all: bytes go to "<path>.tmp.<pid>", which is fsynced and then renamed over `path` (atomic_file.h).
void save_safetensors(const std::string& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {},
                      const SafetensorsWriteOptions& options = {});
// The same bytes, in memory.
std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {},
                                           const SafetensorsWriteOptions& options = {});

}  // namespace lab
