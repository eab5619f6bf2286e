// GPT-2's tokenizer files: vocab.json ({"token": id, ...}) and merges.txt ("#version: 0.2" then one
// "a b" merge a line, best first), as openai/gpt-2 and Hugging Face's GPT2Tokenizer write them.
//
// The pipeline is GPT-2's, fixed: its regex (regex.h), the byte-level map (byte_level.h), BPE, and the
// byte-level decoder; "<|endoftext|>", when the vocabulary has it, is a special token matched in the
// text as GPT2Tokenizer does. Errors name the file and the line or key. Not here: tokenizer.json
// (load_tokenizer_json.h).
#pragma once

#include "data/tokenizer/pipeline.h"

#include <memory>
#include <string>
#include <string_view>

namespace lab::data {

std::unique_ptr<BpeTokenizer> load_gpt2_files(const std::string& vocab_json_path, const std::string& merges_txt_path);
// The same from the two files' contents; the names are for messages (the fuzz target calls this).
std::unique_ptr<BpeTokenizer> parse_gpt2_files(std::string_view vocab_json, const std::string& vocab_name,
                                               std::string_view merges_txt, const std::string& merges_name);

}  // namespace lab::data
