// The generated corpus: deterministic, exactly as long as asked, printable, varied, and free of the
// task's question format (so that the task is new to a model pretrained on it).
#include <catch2/catch.hpp>

#include "data/corpus.h"
#include "tensor/error.h"

#include <set>

using namespace lab::data;

static std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> words;
  std::string w;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      w += c;
    } else {
      if (!w.empty()) words.insert(w);
      w.clear();
    }
  }
  return words;
}

TEST_CASE("corpus: same seed same text, other seed other text, exact length, prefixes") {
  std::string a = generate_corpus(1, 20000);
  CHECK(a.size() == 20000);
  CHECK(generate_corpus(1, 20000) == a);
  CHECK(generate_corpus(2, 20000) != a);
  CHECK(generate_corpus(1, 7777) == a.substr(0, 7777));  // cut at the end: a shorter text is a prefix
  CHECK(generate_corpus(1, 0).empty());
  CHECK(generate_corpus(1, 1).size() == 1);
  // the first story of seed 1 differs from that of seed 2 already
  CHECK(generate_corpus(1, 100) != generate_corpus(2, 100));
}

TEST_CASE("corpus: only printable ASCII and newlines, many words, lines that are stories") {
  std::string text = generate_corpus(3, 200000);
  for (char c : text) {
    bool ok = c == '\n' || (c >= 0x20 && c < 0x7f);
    if (!ok) FAIL("byte " << int(static_cast<unsigned char>(c)) << " is not printable ASCII");
  }
  std::set<std::string> words = words_of(text);
  CHECK(words.size() >= 150);  // a few hundred distinct words, all of them from world.h
  CHECK(words.size() <= 400);
  for (const char* w : {"Mia", "has", "had", "red", "ball", "park", "cat", "the", "gave", "Thank"}) {
    INFO(w);
    CHECK(words.count(w) == 1);
  }
  // lines (stories) neither empty nor beyond a few hundred bytes; sentences start with a capital
  size_t start = 0, lines = 0, longest = 0;
  while (true) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;
    std::string line = text.substr(start, end - start);
    CHECK(!line.empty());
    CHECK(((line[0] >= 'A' && line[0] <= 'Z') || line[0] == '"'));
    CHECK(line.back() == '.');
    longest = std::max(longest, line.size());
    lines++;
    start = end + 1;
  }
  CHECK(lines > 500);
  CHECK(longest < 800);
  CHECK(text.find(". the") == std::string::npos);  // a sentence after a full stop is capitalized
}

TEST_CASE("corpus: facts come back, and the task's format never appears") {
  std::string text = generate_corpus(4, 300000);
  // the copying the task needs: "X's object was/is colour" and "The colour object is X's"
  CHECK(text.find("'s hat is ") != std::string::npos);
  CHECK(text.find("'s cup was ") != std::string::npos);
  CHECK(text.find("'s.") != std::string::npos);
  for (const char* task_marker : {"story:", "q:", "a:", "what colour", "who has", "what does"}) {
    INFO(task_marker);
    CHECK(text.find(task_marker) == std::string::npos);
  }
}

TEST_CASE("corpus: a negative or huge length is an error") {
  CHECK_THROWS_WITH(generate_corpus(1, -1), Catch::Contains("n_bytes is -1"));
  CHECK_THROWS_WITH(generate_corpus(1, int64_t(1) << 40), Catch::Contains("1 GiB"));
}
