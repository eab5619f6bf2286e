// The user's own files: a text file to train on (lesson 04's --text), or a file of token ids.
//
// A text file is bytes: UTF-8 or not, any byte goes (the byte tokenizer takes them all). A token-id
// file is decimal ids separated by whitespace ("15496 11 995\n"), for text that another tokenizer
// already split. Every error names the file; a bad id also its line, column and what is allowed.
// Not here: tokenizing (byte_tokenizer.h) or batching (dataset.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lab::data {

// Whitespace as C's isspace sees it in the "C" locale, whatever the locale: space, \t, \n, \v, \f, \r.
inline bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// At most this many bytes are read from one file.
constexpr int64_t kMaxTextFileBytes = int64_t(1) << 30;

// The whole file; an error naming the path when it is missing, a directory (or not a regular file),
// unreadable, empty, or larger than 1 GiB.
std::string read_text_file(const std::string& path);

// Whitespace-separated decimal ids, each in [0, vocab_size). A bad token (not a number, negative, too
// large, past 64 bits) is an error naming `source`, the line and column (from 1) and the token;
// input with no ids at all is an error too.
std::vector<int64_t> parse_token_ids(std::string_view text, int64_t vocab_size, const std::string& source);
// parse_token_ids on read_text_file(path), with the path as the source.
std::vector<int64_t> read_token_ids(const std::string& path, int64_t vocab_size);

}  // namespace lab::data
