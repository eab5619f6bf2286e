// Byte-level text: GPT-2's map from the 256 byte values to 256 printable Unicode characters, and the
// UTF-8 rules every tokenizer here shares (what one "character" is, valid or not).
//
// Why the map: a BPE vocabulary is a list of strings, and GPT-2 wanted every byte, 0x00 and 0xff
// included, to be a visible character in vocab.json. Printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ')
// map to themselves; the other 68 map to U+0100.. in order, so ' ' (0x20) is 'Ġ' (U+0120) and
// '\n' is 'Ċ'. Reference: openai/gpt-2 src/encoder.py bytes_to_unicode(). Not here: the regex that
// splits text before this map (regex.h) or the merges (bpe_model.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lab::data {

// The code point byte b stands for: 'A' -> U+0041, ' ' -> U+0120 ('Ġ').
const std::array<char32_t, 256>& bytes_to_unicode();
// The inverse: the byte that code point c stands for, or nothing when c is not one of the 256.
std::optional<uint8_t> unicode_to_byte(char32_t c);

// Every byte of `bytes` as its character, UTF-8 encoded: "a b" -> "aĠb". Any input, invalid UTF-8 too.
std::string byte_level_encode(std::string_view bytes);

// The length of the UTF-8 character starting at text[i]: 1 to 4 when it is valid (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), 1 when text[i] starts no valid character,
// so that an invalid byte is a character of its own.
size_t utf8_char_length(std::string_view text, size_t i);
// The code point of the valid character text[i, i + len) (len from utf8_char_length).
char32_t utf8_decode(std::string_view text, size_t i, size_t len);
void utf8_append(std::string& out, char32_t c);

}  // namespace lab::data
