// libFuzzer target: a user's text file, from the disk to batches (data/text_file.h, byte_tokenizer.h,
// dataset.h), on arbitrary bytes.
//
// The bytes are written to a temporary file and read back with read_text_file; they must come back
// unchanged (or, for no bytes, be refused with lab::Error), encode to ids in [0, 256) that decode
// to the same bytes, and, when long enough, make a TokenDataset whose train and validation batches
// have targets equal to the ids shifted by one. Anything other than lab::Error escaping is a bug.
// Run: ./lab fuzz text_corpus [seconds]; seeds: tests/fuzz/text_corpus/.
#include "data/byte_tokenizer.h"
#include "data/dataset.h"
#include "data/text_file.h"
#include "tensor/error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

// One temporary file for the whole run, written for each input and removed after it.
static const std::string& temp_path() {
  static const std::string path = "/tmp/loralab_fuzz_text_corpus_" + std::to_string(::getpid()) + ".txt";
  return path;
}

// Each row of a batch: targets[b, t] == ids[b, t + 1] for t < T - 1 (the windows are contiguous).
static void check_batch(const lab::data::Batch& b, int64_t batch, int64_t seq_len) {
  if (b.ids.shape() != lab::Shape{batch, seq_len} || b.targets.shape() != lab::Shape{batch, seq_len}) std::abort();
  std::vector<int64_t> ids = b.ids.to_vector<int64_t>(), targets = b.targets.to_vector<int64_t>();
  for (int64_t r = 0; r < batch; r++)
    for (int64_t t = 0; t + 1 < seq_len; t++)
      if (targets[size_t(r * seq_len + t)] != ids[size_t(r * seq_len + t + 1)]) std::abort();
  for (int64_t v : ids)
    if (v < 0 || v >= lab::data::kByteVocab) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  {
    FILE* f = std::fopen(temp_path().c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 0 && std::fwrite(bytes.data(), 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  try {
    std::string text = lab::data::read_text_file(temp_path());
    if (text != bytes) std::abort();  // the file did not come back as written
    std::vector<int64_t> tokens = lab::data::encode_bytes(text);
    if (tokens.size() != text.size() || lab::data::decode_bytes(tokens) != text) std::abort();
    // the first byte picks the split and window; too short a part must be a lab::Error, not a crash
    double val_fraction = 0.05 + 0.9 * double(data[0]) / 255.0;
    int64_t seq_len = 1 + int64_t(data[size - 1] % 16);
    lab::data::TokenDataset ds(std::move(tokens), val_fraction, temp_path());
    if (ds.train_tokens() + ds.val_tokens() != int64_t(size)) std::abort();
    lab::Generator gen(size);
    check_batch(ds.train_batch(3, seq_len, gen), 3, seq_len);
    int64_t n = ds.num_val_batches(2, seq_len);
    if (n < 1) std::abort();
    for (int64_t i = 0; i < n && i < 4; i++) check_batch(ds.val_batch(2, seq_len, i), 2, seq_len);
  } catch (const lab::Error&) {
    // empty files and texts too short for a window are refused with a message: that is the contract
  }
  std::remove(temp_path().c_str());
  return 0;
}
