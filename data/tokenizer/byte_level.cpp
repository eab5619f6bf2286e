// GPT-2's byte <-> unicode map and the UTF-8 helpers (see byte_level.h).
#include "data/tokenizer/byte_level.h"

namespace lab::data {

const std::array<char32_t, 256>& bytes_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    // printable bytes keep their Latin-1 code point; the others get U+0100 + n, n counting from 0 in byte order
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    char32_t next = 0x100;
    for (int b = 0; b < 256; b++) t[size_t(b)] = printable(b) ? char32_t(b) : next++;
    return t;
  }();
  return table;
}

std::optional<uint8_t> unicode_to_byte(char32_t c) {
  static const std::array<int16_t, 0x144> inverse = [] {
    std::array<int16_t, 0x144> inv{};
    inv.fill(-1);
    for (int b = 0; b < 256; b++) inv[size_t(bytes_to_unicode()[size_t(b)])] = int16_t(b);
    return inv;
  }();
  if (c >= inverse.size() || inverse[c] < 0) return std::nullopt;
  return uint8_t(inverse[c]);
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) utf8_append(out, bytes_to_unicode()[uint8_t(b)]);
  return out;
}

size_t utf8_char_length(std::string_view text, size_t i) {
  auto at = [&](size_t k) { return i + k < text.size() ? uint8_t(text[i + k]) : 0; };
  auto cont = [&](size_t k) { return (at(k) & 0xC0) == 0x80 && i + k < text.size(); };
  uint8_t b0 = at(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 1;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    uint8_t b1 = at(1);
    bool ok = cont(1) && cont(2) && !(b0 == 0xE0 && b1 < 0xA0) && !(b0 == 0xED && b1 >= 0xA0);  // overlong, surrogate
    return ok ? 3 : 1;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    uint8_t b1 = at(1);
    bool ok = cont(1) && cont(2) && cont(3) && !(b0 == 0xF0 && b1 < 0x90) && !(b0 == 0xF4 && b1 >= 0x90);  // overlong, > U+10FFFF
    return ok ? 4 : 1;
  }
  return 1;  // a continuation byte, 0xC0/0xC1 or 0xF5..0xFF
}

char32_t utf8_decode(std::string_view text, size_t i, size_t len) {
  auto b = [&](size_t k) { return char32_t(uint8_t(text[i + k])); };
  switch (len) {
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default: return b(0);
  }
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

}  // namespace lab::data
