// The BPE merge loop (see bpe_model.h), the same order of merges as `tokenizers`' word.rs merge_all.
#include "data/tokenizer/bpe_model.h"

#include "data/tokenizer/byte_level.h"
#include "tensor/error.h"

#include <queue>

namespace lab::data {

BpeModel::BpeModel(std::unordered_map<std::string, int64_t> vocab, BpeOptions options, std::string source)
    : vocab_(std::move(vocab)), options_(std::move(options)), source_(std::move(source)) {
  for (const auto& [token, id] : vocab_)
    LAB_CHECK(id >= 0 && id < (int64_t(1) << 31), "{}: token \"{}\" has id {}, expected an id in [0, 2^31)", source_, token, id);
  if (options_.unk_token) {
    auto it = vocab_.find(*options_.unk_token);
    LAB_CHECK(it != vocab_.end(), "{}: the unknown token \"{}\" is not in the vocabulary (HINT: add it to the vocab, or set unk_token to null)",
              source_, *options_.unk_token);
    unk_id_ = it->second;
  }
  if (options_.byte_fallback) {
    byte_ids_.assign(256, -1);
    for (int b = 0; b < 256; b++) {
      auto it = vocab_.find(fmt::format("<0x{:02X}>", b));
      if (it != vocab_.end()) byte_ids_[size_t(b)] = it->second;
    }
  }
}

void BpeModel::add_merge(const std::string& a, const std::string& b, const std::string& where) {
  auto find = [&](const std::string& token, const char* what) {
    auto it = vocab_.find(token);
    LAB_CHECK(it != vocab_.end(), "{}: {}: the merge \"{}\" + \"{}\" names {} \"{}\", which is not in the vocabulary "
              "(HINT: the merges and the vocabulary come from different tokenizers, or the file was cut short)",
              source_, where, a, b, what, token);
    return it->second;
  };
  int64_t left = find(a, "the token"), right = find(b, "the token"), merged = find(a + b, "the merged token");
  // a repeated pair keeps its first (lowest) rank, as `tokenizers` does
  merges_.emplace(pair_key(left, right), Merge{int32_t(merges_.size()), merged});
}

void BpeModel::encode_word(std::string_view word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    auto it = vocab_.find(std::string(word));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // 1. characters -> symbols (a doubly linked list over a vector)
  struct Symbol {
    int64_t id;
    int64_t prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  bool last_was_unk = false;
  auto push = [&](int64_t id) {
    int64_t n = int64_t(symbols.size());
    symbols.push_back({id, n - 1, n + 1, true});
  };
  for (size_t i = 0; i < word.size();) {
    size_t len = utf8_char_length(word, i);
    std::string_view ch = word.substr(i, len);
    i += len;
    auto it = vocab_.find(std::string(ch));
    if (it != vocab_.end()) {
      push(it->second);
      last_was_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && byte_ids_[uint8_t(c)] >= 0;
      if (all) {
        for (char c : ch) push(byte_ids_[uint8_t(c)]);
        last_was_unk = false;
        continue;
      }
    }
    std::string shown;
    for (char c : ch) shown += fmt::format("\\x{:02x}", uint8_t(c));
    LAB_CHECK(unk_id_.has_value(), "{}: the character {} has no token, and the tokenizer has neither byte_fallback nor an "
              "unk_token (HINT: a byte-level vocabulary must hold all 256 byte characters; this one is incomplete)", source_, shown);
    if (!(options_.fuse_unk && last_was_unk)) push(*unk_id_);
    last_was_unk = true;
  }
  if (!symbols.empty()) symbols.back().next = -1;

  // 2. merge the lowest-ranked pair, then the next, ...: a min-heap on (rank, position)
  struct Candidate {
    int32_t rank;
    int64_t pos;
    int64_t new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int64_t pos) {  // the pair (pos, pos.next), if it has a merge
    if (pos < 0 || symbols[size_t(pos)].next < 0) return;
    auto it = merges_.find(pair_key(symbols[size_t(pos)].id, symbols[size_t(symbols[size_t(pos)].next)].id));
    if (it != merges_.end()) heap.push({it->second.rank, pos, it->second.id});
  };
  for (int64_t p = 0; p + 1 < int64_t(symbols.size()); p++) consider(p);
  while (!heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    Symbol& left = symbols[size_t(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[size_t(left.next)];
    // stale entry: one side has merged since it was pushed
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[size_t(right.next)].prev = top.pos;
    consider(left.prev);
    consider(top.pos);
  }
  for (const Symbol& s : symbols)
    if (s.alive) out.push_back(s.id);
}

}  // namespace lab::data
