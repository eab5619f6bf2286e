// BpeTokenizer (see pipeline.h): added tokens, normalizers, pre-tokenizers, BPE, decoders, in that order.
#include "data/tokenizer/pipeline.h"

#include "data/text_file.h"
#include "data/tokenizer/byte_level.h"
#include "tensor/error.h"

#include <algorithm>

namespace lab::data {

namespace {

struct Piece {
  std::string text;
  bool at_start;  // begins at byte 0 of the whole input (Metaspace's prepend_scheme "first" asks)
};

struct Span {
  size_t begin, end;
  bool is_match;
};

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content) {
  if (pattern.empty()) return std::string(text);
  std::string out;
  size_t i = 0;
  for (size_t hit; (hit = text.find(pattern, i)) != std::string_view::npos; i = hit + pattern.size()) {
    out.append(text.substr(i, hit - i));
    out.append(content);
  }
  out.append(text.substr(i));
  return out;
}

// The matches of a regex (or of a literal string) and the gaps between them, covering all of text.
std::vector<Span> match_spans(std::string_view text, const Regex* regex, std::string_view literal) {
  std::vector<std::pair<size_t, size_t>> matches;
  if (regex) {
    matches = regex->find_all(text);
  } else if (!literal.empty()) {
    for (size_t hit = 0; (hit = text.find(literal, hit)) != std::string_view::npos; hit += literal.size())
      matches.emplace_back(hit, hit + literal.size());
  }
  std::vector<Span> spans;
  size_t at = 0;
  for (auto [b, e] : matches) {
    if (b > at) spans.push_back({at, b, false});
    spans.push_back({b, e, true});
    at = e;
  }
  if (at < text.size()) spans.push_back({at, text.size(), false});
  return spans;
}

// `tokenizers`' SplitDelimiterBehavior: what happens to each match ("the-final--countdown" split on "-").
std::vector<Span> apply_behavior(std::vector<Span> spans, SplitBehavior behavior, bool invert) {
  if (invert)
    for (Span& s : spans) s.is_match = !s.is_match;
  std::vector<Span> out;
  switch (behavior) {
    case SplitBehavior::Isolated:  // the, -, final, -, -, countdown
      return spans;
    case SplitBehavior::Removed:  // the, final, countdown
      for (const Span& s : spans)
        if (!s.is_match) out.push_back(s);
      return out;
    case SplitBehavior::MergedWithPrevious: {  // the-, final-, -, countdown
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) out.back().end = s.end;
        else out.push_back(s);
        previous_match = s.is_match;
      }
      return out;
    }
    case SplitBehavior::MergedWithNext: {  // the, -final, -, -countdown
      bool next_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !next_match && !out.empty()) out.back().begin = it->begin;
        else out.push_back(*it);
        next_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      return out;
    }
    case SplitBehavior::Contiguous:  // the, -, final, --, countdown
      for (const Span& s : spans) {
        if (!out.empty() && out.back().is_match == s.is_match) out.back().end = s.end;
        else out.push_back(s);
      }
      return out;
  }
  LAB_UNREACHABLE();
}

void split_into(std::vector<Piece>& out, const Piece& piece, const std::vector<Span>& spans) {
  for (const Span& s : spans)
    if (s.end > s.begin) out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_start && s.begin == 0});
}

std::vector<Piece> apply_pre_tokenizer(const PreTokenizer& p, std::vector<Piece> pieces) {
  std::vector<Piece> out;
  for (Piece& piece : pieces) {
    switch (p.kind) {
      case PreTokenizer::Kind::ByteLevel: {
        if (p.add_prefix_space && (piece.text.empty() || piece.text[0] != ' ')) piece.text = " " + piece.text;
        std::vector<Piece> words;
        if (p.use_regex) split_into(words, piece, match_spans(piece.text, p.regex.get(), {}));
        else words.push_back(piece);
        for (Piece& w : words) out.push_back({byte_level_encode(w.text), w.at_start});
        break;
      }
      case PreTokenizer::Kind::Split:
        split_into(out, piece, apply_behavior(match_spans(piece.text, p.regex.get(), p.literal), p.behavior, p.invert));
        break;
      case PreTokenizer::Kind::Metaspace: {
        piece.text = replace_all(piece.text, " ", p.replacement);
        bool starts = piece.text.starts_with(p.replacement);
        if (!starts && (p.prepend == PrependScheme::Always || (p.prepend == PrependScheme::First && piece.at_start)))
          piece.text = p.replacement + piece.text;
        if (p.split) split_into(out, piece, apply_behavior(match_spans(piece.text, nullptr, p.replacement), SplitBehavior::MergedWithNext, false));
        else out.push_back(piece);
        break;
      }
    }
  }
  std::erase_if(out, [](const Piece& w) { return w.text.empty(); });
  return out;
}

std::string apply_normalizer(const Normalizer& n, std::string text) {
  switch (n.kind) {
    case Normalizer::Kind::Prepend:
      return text.empty() ? text : n.text + text;
    case Normalizer::Kind::Replace: {
      if (!n.regex) return replace_all(text, n.text, n.content);
      std::string out;
      size_t at = 0;
      for (auto [b, e] : n.regex->find_all(text)) {
        out.append(text, at, b - at);
        out.append(n.content);
        at = e;
      }
      out.append(text, at, std::string::npos);
      return out;
    }
  }
  LAB_UNREACHABLE();
}

// <0xNN> -> the byte NN, or nothing.
std::optional<uint8_t> byte_token(std::string_view t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1; };
  if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>' || hex(t[3]) < 0 || hex(t[4]) < 0) return std::nullopt;
  return uint8_t(hex(t[3]) * 16 + hex(t[4]));
}

std::vector<std::string> apply_decoder(const Decoder& d, std::vector<std::string> tokens) {
  std::vector<std::string> out;
  switch (d.kind) {
    case Decoder::Kind::ByteLevel: {  // all tokens become one: each character back to its byte
      std::string bytes;
      for (const std::string& t : tokens)
        for (size_t i = 0; i < t.size();) {
          size_t len = utf8_char_length(t, i);
          std::optional<uint8_t> b = len > 1 || uint8_t(t[i]) < 0x80 ? unicode_to_byte(utf8_decode(t, i, len)) : std::nullopt;
          if (b) bytes += char(*b);
          else bytes.append(t, i, len);  // not one of the 256 (an added token's text): kept as written
          i += len;
        }
      out.push_back(std::move(bytes));
      return out;
    }
    case Decoder::Kind::Replace:
      for (const std::string& t : tokens) out.push_back(replace_all(t, d.pattern, d.content));
      return out;
    case Decoder::Kind::ByteFallback:  // runs of <0xNN> become their bytes
      for (const std::string& t : tokens) {
        std::optional<uint8_t> b = byte_token(t);
        if (!b) out.push_back(t);
        else out.push_back(std::string(1, char(*b)));
      }
      return out;
    case Decoder::Kind::Fuse: {
      std::string all;
      for (const std::string& t : tokens) all += t;
      out.push_back(std::move(all));
      return out;
    }
    case Decoder::Kind::Strip:
      for (std::string t : tokens) {
        for (int64_t k = 0; k < d.start && !d.content.empty() && t.starts_with(d.content); k++) t.erase(0, d.content.size());
        for (int64_t k = 0; k < d.stop && !d.content.empty() && t.ends_with(d.content); k++) t.erase(t.size() - d.content.size());
        out.push_back(std::move(t));
      }
      return out;
    case Decoder::Kind::Metaspace:  // the replacement becomes a space, except in the first token (it was prepended)
      for (size_t k = 0; k < tokens.size(); k++) {
        std::string t;
        const std::string& in = tokens[k];
        for (size_t i = 0; i < in.size();) {
          if (std::string_view(in).substr(i).starts_with(d.replacement)) {
            if (!(k == 0 && d.prepend != PrependScheme::Never)) t += ' ';
            i += d.replacement.size();
          } else {
            t += in[i++];
          }
        }
        out.push_back(std::move(t));
      }
      return out;
  }
  LAB_UNREACHABLE();
}

}  // namespace

BpeTokenizer::BpeTokenizer(BpeModel model, std::vector<AddedToken> added, std::vector<Normalizer> normalizers,
                           std::vector<PreTokenizer> pre_tokenizers, std::vector<Decoder> decoders, bool has_decoder,
                           std::string source)
    : model_(std::move(model)), added_(std::move(added)), normalizers_(std::move(normalizers)),
      pre_tokenizers_(std::move(pre_tokenizers)), decoders_(std::move(decoders)), has_decoder_(has_decoder),
      source_(std::move(source)) {
  int64_t size = 0;
  for (const auto& [token, id] : model_.vocab()) size = std::max(size, id + 1);
  for (const AddedToken& a : added_) {
    LAB_CHECK(a.id >= 0 && a.id < (int64_t(1) << 31), "{}: added token \"{}\" has id {}, expected an id in [0, 2^31)", source_, a.content, a.id);
    LAB_CHECK(!a.content.empty(), "{}: added token {} has empty content (HINT: every added token needs its text)", source_, a.id);
    size = std::max(size, a.id + 1);
  }
  // The id table has one slot an id up to the largest, so the largest id must stay in proportion to
  // what the file holds: real files number their tokens from 0 without gaps, and a few gaps are
  // allowed (at most 2 x tokens + 256 slots). Without this a two-token file with the id 2^31 - 1
  // asked for gigabytes (found by fuzz_tokenizer_json).
  const int64_t entries = int64_t(model_.vocab().size() + added_.size());
  LAB_CHECK(size <= 2 * entries + 256, "{}: the largest token id is {}, but the file has only {} tokens (vocabulary and added tokens): "
            "ids must number the tokens from 0, with few gaps", source_, size - 1, entries);
  id_to_token_.assign(size_t(size), {});
  has_token_.assign(size_t(size), false);
  for (const auto& [token, id] : model_.vocab()) id_to_token_[size_t(id)] = token, has_token_[size_t(id)] = true;
  for (const AddedToken& a : added_) id_to_token_[size_t(a.id)] = a.content, has_token_[size_t(a.id)] = true;
  added_by_first_byte_.assign(256, {});
  for (size_t k = 0; k < added_.size(); k++) added_by_first_byte_[uint8_t(added_[k].content[0])].push_back(k);
  for (auto& bucket : added_by_first_byte_)
    std::stable_sort(bucket.begin(), bucket.end(), [&](size_t a, size_t b) { return added_[a].content.size() > added_[b].content.size(); });
}

std::vector<std::string> BpeTokenizer::pre_tokenize(std::string_view text) const {
  std::string normalized(text);
  for (const Normalizer& n : normalizers_) normalized = apply_normalizer(n, std::move(normalized));
  std::vector<Piece> pieces{{normalized, true}};
  for (const PreTokenizer& p : pre_tokenizers_) pieces = apply_pre_tokenizer(p, std::move(pieces));
  std::vector<std::string> words;
  for (Piece& p : pieces)
    if (!p.text.empty()) words.push_back(std::move(p.text));
  return words;
}

void BpeTokenizer::encode_segment(std::string_view text, bool at_start, std::vector<int64_t>& out) const {
  if (text.empty()) return;
  std::string normalized(text);
  for (const Normalizer& n : normalizers_) normalized = apply_normalizer(n, std::move(normalized));
  std::vector<Piece> pieces{{std::move(normalized), at_start}};
  for (const PreTokenizer& p : pre_tokenizers_) pieces = apply_pre_tokenizer(p, std::move(pieces));
  for (const Piece& p : pieces) model_.encode_word(p.text, out);
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  size_t segment = 0;  // start of the text not yet encoded
  for (size_t i = 0; i < text.size(); i++) {
    for (size_t k : added_by_first_byte_[uint8_t(text[i])]) {
      const AddedToken& a = added_[k];
      if (!text.substr(i).starts_with(a.content)) continue;
      size_t begin = i, end = i + a.content.size();
      if (a.lstrip)
        while (begin > segment && is_ascii_space(text[begin - 1])) begin--;
      if (a.rstrip)
        while (end < text.size() && is_ascii_space(text[end])) end++;
      encode_segment(text.substr(segment, begin - segment), segment == 0, ids);
      ids.push_back(a.id);
      segment = end;
      i = end - 1;
      break;
    }
  }
  encode_segment(text.substr(segment), segment == 0, ids);
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t k = 0; k < ids.size(); k++) {
    int64_t id = ids[k];
    LAB_CHECK(id >= 0 && id < vocab_size() && has_token_[size_t(id)],
              "{}: cannot decode id {} at position {}: {} (HINT: the ids come from another tokenizer or model)", source_, id, k,
              id >= 0 && id < vocab_size() ? "no token has this id" : fmt::format("ids must be in [0, {})", vocab_size()));
    tokens.push_back(id_to_token_[size_t(id)]);
  }
  if (!has_decoder_) {  // what `tokenizers` does without a decoder: the tokens, space-separated
    std::string joined;
    for (size_t k = 0; k < tokens.size(); k++) joined += (k ? " " : "") + tokens[k];
    return joined;
  }
  for (const Decoder& d : decoders_) tokens = apply_decoder(d, std::move(tokens));
  std::string text;
  for (const std::string& t : tokens) text += t;
  return text;
}

std::optional<int64_t> BpeTokenizer::token_id(std::string_view token) const {
  for (const AddedToken& a : added_)
    if (a.content == token) return a.id;
  auto it = model_.vocab().find(std::string(token));
  if (it == model_.vocab().end()) return std::nullopt;
  return it->second;
}

std::string BpeTokenizer::describe() const {
  return fmt::format("BPE from {} ({} tokens, {} merges, {} added)", source_, vocab_size(), model_.num_merges(), added_.size());
}

}  // namespace lab::data
