// BpeTokenizer: the path from text to ids that Hugging Face `tokenizers` takes, for a BPE model.
//
//   encode: added (special) tokens are cut out of the raw text first, leftmost then longest; each stretch
//           between them is normalized, split into words (pre-tokenized), and each word merged by BPE.
//   decode: ids -> token strings -> the decoder steps -> bytes.
// Steps: normalizers Prepend, Replace; pre-tokenizers ByteLevel, Split, Metaspace (Digits is read as a
// Split); decoders ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace; each may be a Sequence.
// Invalid UTF-8: a byte that starts no valid character is a character, and a run of them between regex
// matches a word, of its own; so decode(encode(s)) == s for every s, except what the file itself loses
// (a U+2581 '▁' under Metaspace/Replace, a leading space under Metaspace). More: data/README.md.
#pragma once

#include "data/tokenizer/bpe_model.h"
#include "data/tokenizer/regex.h"
#include "data/tokenizer/tokenizer.h"

#include <memory>
#include <string>
#include <vector>

namespace lab::data {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool special = false;
  bool lstrip = false;  // the match takes the whitespace before it
  bool rstrip = false;  // ... and after it
};

struct Normalizer {
  enum class Kind { Prepend, Replace } kind;
  std::string text;                    // Prepend: what to put in front; Replace: the literal pattern
  std::shared_ptr<const Regex> regex = nullptr;  // Replace: the pattern when it is a regex
  std::string content;                 // Replace: what replaces each match
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
enum class PrependScheme { Always, First, Never };

struct PreTokenizer {
  enum class Kind { ByteLevel, Split, Metaspace } kind;
  bool add_prefix_space = false;       // ByteLevel
  bool use_regex = true;               // ByteLevel: split with GPT-2's pattern first
  std::shared_ptr<const Regex> regex = nullptr;  // Split with a regex; ByteLevel's GPT-2 pattern
  std::string literal = "";            // Split with a string
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  std::string replacement = "\u2581";  // Metaspace
  PrependScheme prepend = PrependScheme::Always;
  bool split = true;                   // Metaspace: a word starts at each replacement character
};

struct Decoder {
  enum class Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace } kind;
  std::string pattern = "", content = "";// Replace (a literal pattern); Strip: the character to strip
  int64_t start = 0, stop = 0;         // Strip: at most this many from each end of each token
  std::string replacement = "\u2581";  // Metaspace
  PrependScheme prepend = PrependScheme::Always;
};

class BpeTokenizer final : public Tokenizer {
public:
  BpeTokenizer(BpeModel model, std::vector<AddedToken> added, std::vector<Normalizer> normalizers,
               std::vector<PreTokenizer> pre_tokenizers, std::vector<Decoder> decoders, bool has_decoder, std::string source);

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return int64_t(id_to_token_.size()); }
  std::optional<int64_t> token_id(std::string_view token) const override;
  std::string describe() const override;

  // The words BPE sees for `text` (no added tokens cut out): for tests and for the curious.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

private:
  void encode_segment(std::string_view text, bool at_start, std::vector<int64_t>& out) const;

  BpeModel model_;
  std::vector<AddedToken> added_;
  std::vector<std::vector<size_t>> added_by_first_byte_;  // byte -> indices into added_, longest content first
  std::vector<Normalizer> normalizers_;
  std::vector<PreTokenizer> pre_tokenizers_;
  std::vector<Decoder> decoders_;
  bool has_decoder_;  // without one, `tokenizers` joins the tokens with spaces
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_token_;
  std::string source_;
};

}  // namespace lab::data
