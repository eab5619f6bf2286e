// The BPE model: a vocabulary (token string -> id), a ranked list of merges, and the merge loop that
// turns one pre-token into ids. Shared by vocab.json + merges.txt and by tokenizer.json.
//
// The loop (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units";
// as Hugging Face `tokenizers` runs it): split the word into characters, then repeatedly merge the
// adjacent pair whose merge has the lowest rank (leftmost first on ties) until no pair has a merge.
// A priority queue keeps it O(n log n) in the word's length. A character missing from the vocabulary
// becomes its UTF-8 bytes as <0xNN> tokens (byte_fallback), else the unknown token. Not here:
// splitting text into words (pipeline.h), reading files (load_gpt2_files.h, load_tokenizer_json.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lab::data {

struct BpeOptions {
  std::optional<std::string> unk_token;  // the token for a character with no id (and no byte fallback)
  bool fuse_unk = false;                 // consecutive unknown characters become one unknown token
  bool byte_fallback = false;            // unknown characters become <0x00>..<0xFF> tokens (SentencePiece style)
  bool ignore_merges = false;            // a word that is itself in the vocabulary is one token, merges unused (LLaMA-3)
};

class BpeModel {
public:
  // `source` names the file in every error.
  BpeModel(std::unordered_map<std::string, int64_t> vocab, BpeOptions options, std::string source);

  // Merge number `rank` (from 0, the order of the file): a + b -> the token a+b. Both halves and the
  // result must be in the vocabulary; an error names `where` (a line or JSON path) otherwise.
  void add_merge(const std::string& a, const std::string& b, const std::string& where);

  // Appends the ids of one pre-token (already byte-level mapped where the tokenizer does that).
  void encode_word(std::string_view word, std::vector<int64_t>& out) const;

  const std::unordered_map<std::string, int64_t>& vocab() const { return vocab_; }
  const BpeOptions& options() const { return options_; }
  size_t num_merges() const { return merges_.size(); }

private:
  struct Merge {
    int32_t rank;
    int64_t id;  // the merged token
  };
  static uint64_t pair_key(int64_t a, int64_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::vector<int64_t> byte_ids_;  // byte b -> the id of "<0xBB>", -1 when absent (only with byte_fallback)
  std::optional<int64_t> unk_id_;
  BpeOptions options_;
  std::string source_;
};

}  // namespace lab::data
