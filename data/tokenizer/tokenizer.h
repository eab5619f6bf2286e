// The Tokenizer interface: text <-> token ids, whichever tokenizer a model came with.
//
// Two kinds implement it: ByteTokenizer (a byte is a token, data/byte_tokenizer.h: the tiny models of
// lessons 04-06) and BpeTokenizer (pipeline.h: GPT-2's vocab.json + merges.txt, or a Hugging Face
// tokenizer.json with a BPE model: GPT-2, LLaMA-3, SmolLM, LLaMA-2-style byte fallback). Both promise
// decode(encode(s)) == s for every byte string s (see pipeline.h for the one exception a tokenizer.json
// can bring). Not here: special-token templates (a BOS the model wants first is the caller's to add).
// Read next: pipeline.h (how BPE text is split and merged), bpe_model.h (the merge loop).
#pragma once

#include "data/byte_tokenizer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lab::data {

class Tokenizer {
public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int64_t> encode(std::string_view text) const = 0;
  // An id outside [0, vocab_size()) (or one no token has) is a lab::Error naming it and its position.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // Every id encode() returns is below this; a model's embedding needs at least this many rows.
  virtual int64_t vocab_size() const = 0;
  // The id of a token spelled exactly so ("<|endoftext|>", "Ġthe"), if the vocabulary has it.
  virtual std::optional<int64_t> token_id(std::string_view token) const = 0;
  // What it is and where it came from, for messages: "BPE from models/gpt2/tokenizer.json (50257 tokens)".
  virtual std::string describe() const = 0;
};

class ByteTokenizer final : public Tokenizer {
public:
  std::vector<int64_t> encode(std::string_view text) const override { return encode_bytes(text); }
  std::string decode(const std::vector<int64_t>& ids) const override { return decode_bytes(ids); }
  int64_t vocab_size() const override { return kByteVocab; }
  std::optional<int64_t> token_id(std::string_view token) const override {
    if (token.size() == 1) return int64_t(uint8_t(token[0]));
    return std::nullopt;
  }
  std::string describe() const override { return "bytes (256 tokens, one a byte)"; }
};

// The tokenizer of a Hugging Face model folder: tokenizer.json when it is there, else vocab.json +
// merges.txt (GPT-2's pair of files); else a lab::Error listing what was looked for.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

// A whole tokenizer file; a lab::Error naming the path when it is missing, a directory or unreadable.
std::string read_tokenizer_file(const std::string& path);

}  // namespace lab::data
