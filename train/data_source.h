// Where the training tokens come from, as the lesson and `loralab train` let the user choose:
//
//   --data FILE     a text file, one token per byte (data/byte_tokenizer.h)
//   --tokens FILE   whitespace-separated token ids, each below the model's vocab_size
//   neither         the generated story corpus (data/corpus.h) of corpus_bytes bytes from corpus_seed
//
// Not here: splitting and batching (data/dataset.h), the files' own checks (data/text_file.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lab::train {

struct DataSource {
  std::string text_file;    // --data
  std::string token_file;   // --tokens
  uint64_t corpus_seed = 0;
  int64_t corpus_bytes = 1 << 20;
};

struct LoadedTokens {
  std::vector<int64_t> tokens;
  std::string description;  // "the generated corpus (1048576 bytes, seed 0)", "shakespeare.txt (1.1 MB of text)"
  std::string text;         // the text itself when it is text (corpus or --data): for printing an excerpt
};

// A lab::Error when both files are given, a file is bad, or a byte text meets a vocab below 256.
LoadedTokens load_tokens(const DataSource& source, int64_t vocab_size);

}  // namespace lab::train
