// Hugging Face `tokenizers`' tokenizer.json, for a model of type BPE: vocab and merges ("a b" strings
// or [a, b] pairs), unk_token, fuse_unk, byte_fallback, ignore_merges; added_tokens; the normalizer,
// pre-tokenizer and decoder steps pipeline.h lists. A component outside that list is a lab::Error
// naming the file, its JSON path and type, and what is supported: never silently skipped. The
// post_processor (a BOS/EOS template) is not applied: encode() returns the text's own tokens.
// Not here: GPT-2's two-file form (load_gpt2_files.h).
#pragma once

#include "data/tokenizer/pipeline.h"

#include <memory>
#include <string>
#include <string_view>

namespace lab::data {

std::unique_ptr<BpeTokenizer> load_tokenizer_json(const std::string& path);
// The same from the file's contents; `source` names it in messages (the fuzz target calls this).
std::unique_ptr<BpeTokenizer> parse_tokenizer_json(std::string_view text, const std::string& source);

}  // namespace lab::data
