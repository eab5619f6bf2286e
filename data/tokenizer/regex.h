// The pre-tokenization regexes, through PCRE2 (Debian's libpcre2-dev), and the two patterns of note.
//
// Why PCRE2 and not a hand-written matcher: the patterns need Unicode classes (\p{L}, \p{N}, \s),
// a lookahead (\s+(?!\S)) and case-insensitive groups ((?i:'s|...)), with the leftmost-first
// backtracking that Hugging Face `tokenizers` gets from Oniguruma; PCRE2 has all of it, with Unicode
// tables kept current by Debian, and a tokenizer.json may carry any other pattern. Compiled with
// PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF: bytes that are not valid UTF-8 never match, so they
// fall in the gaps between matches (see split_by_regex). Not here: what a pre-tokenizer does with
// the pieces (pipeline.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lab::data {

// GPT-2's pre-tokenizer: contractions, letters, numbers, other symbols, each with one optional
// leading space; whitespace runs leave their last space to the word after them.
inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// LLaMA-3's (and SmolLM's): case-insensitive contractions, numbers at most 3 digits long, newlines apart.
inline constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

class Regex {
public:
  // A bad pattern is a lab::Error naming `where` (a file and JSON path), the PCRE2 message and the offset.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }
  // [begin, end) byte spans of the non-empty matches, left to right, not overlapping.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

private:
  std::string pattern_;
  std::string where_;
  void* code_ = nullptr;  // pcre2_code_8*, kept out of this header so pcre2.h stays in regex.cpp
};

}  // namespace lab::data
