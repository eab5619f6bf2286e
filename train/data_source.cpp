// load_tokens of data_source.h.
#include "train/data_source.h"

#include "data/byte_tokenizer.h"
#include "data/corpus.h"
#include "data/text_file.h"
#include "tensor/allocator.h"
#include "tensor/error.h"

#include <fmt/format.h>

namespace lab::train {

LoadedTokens load_tokens(const DataSource& s, int64_t vocab_size) {
  LAB_CHECK(s.text_file.empty() || s.token_file.empty(), "--data {} and --tokens {}: give one of them, not both", s.text_file, s.token_file);
  LoadedTokens out;
  if (!s.token_file.empty()) {
    out.tokens = data::read_token_ids(s.token_file, vocab_size);
    out.description = fmt::format("{} ({} token ids)", s.token_file, out.tokens.size());
    return out;
  }
  LAB_CHECK(vocab_size >= data::kByteVocab, "the model's vocab_size is {}, too small for byte tokens (256) (HINT: a model with vocab_size >= 256, or --tokens FILE)",
            vocab_size);
  if (!s.text_file.empty()) {
    out.text = data::read_text_file(s.text_file);
    out.description = fmt::format("{} ({} of text, one token per byte)", s.text_file, format_bytes(out.text.size()));
  } else {
    out.text = data::generate_corpus(s.corpus_seed, s.corpus_bytes);
    out.description = fmt::format("the generated story corpus ({}, seed {})", format_bytes(out.text.size()), s.corpus_seed);
  }
  out.tokens = data::encode_bytes(out.text);
  return out;
}

}  // namespace lab::train
