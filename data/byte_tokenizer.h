// The byte tokenizer: a token is one byte, so the vocabulary is the 256 byte values.
//
// Any file is text to it (UTF-8 or not, 0x00 and 0xff included) and decode(encode(x)) == x always.
// It is the simplest tokenizer that cannot fail on input; the price is long sequences (one token per
// byte, where GPT-2's BPE averages about four bytes a token). Not here: BPE, merges, special tokens.
// Read next: data/corpus.h (the text lesson 04 pretrains on), data/dataset.h (batches of ids).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lab::data {

constexpr int64_t kByteVocab = 256;

// "Hi" -> {72, 105}: each byte, read as unsigned, is its own id.
std::vector<int64_t> encode_bytes(std::string_view text);
// The inverse; an id outside [0, 256) is a lab::Error naming the id and its position.
std::string decode_bytes(const std::vector<int64_t>& ids);

}  // namespace lab::data
