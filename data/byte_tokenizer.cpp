// The byte tokenizer: see byte_tokenizer.h.
#include "data/byte_tokenizer.h"

#include "tensor/error.h"

namespace lab::data {

std::vector<int64_t> encode_bytes(std::string_view text) {
  std::vector<int64_t> ids(text.size());
  // id = the byte as unsigned char, so 0xff is 255 and not -1
  for (size_t i = 0; i < text.size(); i++) ids[i] = int64_t(static_cast<unsigned char>(text[i]));
  return ids;
}

std::string decode_bytes(const std::vector<int64_t>& ids) {
  std::string text(ids.size(), '\0');
  for (size_t i = 0; i < ids.size(); i++) {
    LAB_CHECK(ids[i] >= 0 && ids[i] < kByteVocab,
              "decode_bytes: id {} at position {} is outside [0, {}) (HINT: the byte tokenizer has one id per byte value; "
              "ids from a model with a larger vocabulary need that model's tokenizer)",
              ids[i], i, kByteVocab);
    text[i] = static_cast<char>(static_cast<unsigned char>(ids[i]));
  }
  return text;
}

}  // namespace lab::data
