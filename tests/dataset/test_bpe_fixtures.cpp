// BPE tokenizers against Hugging Face `tokenizers`: the ids and the decoded text it gave for each string of
// tests/data/tokenizers/expected.json (tests/reference/make_tokenizer_fixtures.py), for six tokenizers
// trained there and written in the real formats. Also the GPT-2 byte map and the pre-token splits.
#include <catch2/catch.hpp>

#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/load_gpt2_files.h"
#include "data/tokenizer/load_tokenizer_json.h"
#include "data/tokenizer/tokenizer.h"
#include "tensor/json_io.h"
#include "tests/dataset/tokenizer_fixtures.h"

#include <nlohmann/json.hpp>

using namespace lab::data;

namespace {

const nlohmann::json& expected() {
  static const nlohmann::json j = lab::json_io::parse(read_tokenizer_file(kTokenizerFixtures + "expected.json"));
  return j;
}

void check_against_tokenizers(const std::string& name) {
  std::unique_ptr<Tokenizer> tok = load_tokenizer(kTokenizerFixtures + name);
  INFO(name << ": " << tok->describe());
  const nlohmann::json& rows = expected().at(name);
  REQUIRE(rows.size() >= 20);
  for (const auto& row : rows) {
    std::string text = row.at("text");
    std::vector<int64_t> want = row.at("ids");
    INFO("text: \"" << text << "\"");
    std::vector<int64_t> got = tok->encode(text);
    CHECK(got == want);
    CHECK(tok->decode(want) == row.at("decoded").get<std::string>());
  }
}

}  // namespace

TEST_CASE("bpe: vocab.json + merges.txt give the ids of transformers' GPT2TokenizerFast") { check_against_tokenizers("gpt2_files"); }
TEST_CASE("bpe: GPT-2 style tokenizer.json (ByteLevel) gives the ids of tokenizers") { check_against_tokenizers("gpt2_json"); }
TEST_CASE("bpe: SmolLM style tokenizer.json (Digits + ByteLevel) gives the ids of tokenizers") { check_against_tokenizers("smollm"); }
TEST_CASE("bpe: LLaMA-3 style tokenizer.json (Split regex + ByteLevel, ignore_merges, pair merges) gives the ids of tokenizers") {
  check_against_tokenizers("llama3");
}
TEST_CASE("bpe: LLaMA-2 style tokenizer.json (Prepend + Replace, byte_fallback) gives the ids of tokenizers") {
  check_against_tokenizers("sp_legacy");
}
TEST_CASE("bpe: Metaspace tokenizer.json with byte_fallback gives the ids of tokenizers") { check_against_tokenizers("sp_metaspace"); }

TEST_CASE("bpe: the fixtures exercise what they claim: byte fallback, special tokens, merges") {
  auto sp = load_tokenizer_json(kTokenizerFixtures + "sp_legacy/tokenizer.json");
  std::vector<int64_t> cjk = sp->encode("中");  // not in the training text: three <0xNN> tokens after the "▁"
  REQUIRE(cjk.size() == 4);
  CHECK(cjk[1] == *sp->token_id("<0xE4>"));
  auto gpt2 = load_tokenizer(kTokenizerFixtures + "gpt2_files");
  CHECK(gpt2->encode("<|endoftext|>") == std::vector<int64_t>{*gpt2->token_id("<|endoftext|>")});
  CHECK(gpt2->encode(" the").size() == 1);  // "Ġthe" is a merged token
  CHECK(gpt2->vocab_size() == 557);  // 256 byte characters, <|endoftext|>, 300 merges
}

TEST_CASE("bpe: GPT-2's byte map: printable bytes stay, the rest move to U+0100 on, space is U+0120") {
  const auto& map = bytes_to_unicode();
  CHECK(map[uint8_t('A')] == U'A');
  CHECK(map[uint8_t(' ')] == U'\u0120');
  CHECK(map[uint8_t('\n')] == U'\u010A');
  CHECK(map[0] == U'\u0100');
  CHECK(map[0xAD] == U'\u0143');  // the soft hyphen is not printable: the last of the 68 moved bytes
  for (int b = 0; b < 256; b++) CHECK(unicode_to_byte(map[size_t(b)]) == std::optional<uint8_t>(uint8_t(b)));
  CHECK_FALSE(unicode_to_byte(U' ').has_value());
  CHECK(byte_level_encode("a b\n") == "a\u0120b\u010A");
}

TEST_CASE("bpe: GPT-2's regex splits contractions, letters, numbers, symbols and keeps a space with the next word") {
  auto gpt2 = load_gpt2_files(kTokenizerFixtures + "gpt2_files/vocab.json", kTokenizerFixtures + "gpt2_files/merges.txt");
  std::vector<std::string> want = {"Hello", "\u0120", "\u0120world", "'s", "\u0120123", "!!", "\u010A"};
  CHECK(gpt2->pre_tokenize("Hello  world's 123!!\n") == want);
  // an invalid byte matches nothing: a pre-token of its own, byte-mapped like any byte (0xff -> U+00FF)
  CHECK(gpt2->pre_tokenize("ab\xff" "cd") == std::vector<std::string>{"ab", "\u00ff", "cd"});
  auto llama3 = load_tokenizer_json(kTokenizerFixtures + "llama3/tokenizer.json");
  CHECK(llama3->pre_tokenize("I'M 12345\n\nx") == std::vector<std::string>{"I", "'M", "\u0120", "123", "45", "\u010A\u010A", "x"});
}

namespace {

// A hand-made tokenizer.json: vocab {a, b, c, ab, bc, abc, <unk>, <0x78>}, merges "a b" then "b c".
std::unique_ptr<BpeTokenizer> hand_made(const std::string& model_options, const std::string& pre_tokenizer = "null") {
  return parse_tokenizer_json(R"({"added_tokens": [], "normalizer": null, "pre_tokenizer": )" + pre_tokenizer +
                                  R"(, "decoder": null, "model": {"type": "BPE", )" + model_options +
                                  R"("vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "<unk>": 6, "<0x78>": 7}, "merges": ["a b", "b c"]}})",
                              "hand-made.json");
}

}  // namespace

// The expected ids and words are what tokenizers 0.20.3 gives for the same files (Tokenizer.from_str(...).encode,
// pre_tokenizers.Split("-", behavior, invert).pre_tokenize_str("the-final--countdown-"), Digits(individual_digits)).
TEST_CASE("bpe: ignore_merges, unk_token, fuse_unk and byte_fallback as tokenizers applies them") {
  CHECK(hand_made("")->encode("abc") == std::vector<int64_t>{3, 2});  // "a b" first, then "ab c" has no merge
  CHECK(hand_made(R"("ignore_merges": true, )")->encode("abc") == std::vector<int64_t>{5});  // the word is in the vocabulary
  CHECK(hand_made(R"("ignore_merges": true, )")->encode("abcabc") == std::vector<int64_t>{3, 2, 3, 2});
  CHECK(hand_made(R"("unk_token": "<unk>", )")->encode("axyb") == std::vector<int64_t>{0, 6, 6, 1});
  CHECK(hand_made(R"("unk_token": "<unk>", "fuse_unk": true, )")->encode("axyb") == std::vector<int64_t>{0, 6, 1});
  CHECK(hand_made(R"("unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true, )")->encode("axyb") == std::vector<int64_t>{0, 7, 6, 1});
}

TEST_CASE("bpe: the Split pre-tokenizer's five behaviours, straight and inverted") {
  auto words = [](const std::string& behavior, bool invert) {
    std::string split = R"({"type": "Split", "pattern": {"String": "-"}, "behavior": ")" + behavior + R"(", "invert": )" +
                        (invert ? "true" : "false") + "}";
    return hand_made("", split)->pre_tokenize("the-final--countdown-");
  };
  using W = std::vector<std::string>;
  CHECK(words("Removed", false) == W{"the", "final", "countdown"});
  CHECK(words("Removed", true) == W{"-", "-", "-", "-"});
  CHECK(words("Isolated", false) == W{"the", "-", "final", "-", "-", "countdown", "-"});
  CHECK(words("MergedWithPrevious", false) == W{"the-", "final-", "-", "countdown-"});
  CHECK(words("MergedWithPrevious", true) == W{"the", "-final", "-", "-countdown", "-"});
  CHECK(words("MergedWithNext", false) == W{"the", "-final", "-", "-countdown", "-"});
  CHECK(words("MergedWithNext", true) == W{"the-", "final-", "-", "countdown-"});
  CHECK(words("Contiguous", false) == W{"the", "-", "final", "--", "countdown", "-"});
  // Digits (SmolLM, StarCoder): every Unicode number, '٣' (U+0663) too, alone or in runs
  auto digits = [](bool individual) {
    return hand_made("", std::string(R"({"type": "Digits", "individual_digits": )") + (individual ? "true" : "false") + "}")
        ->pre_tokenize("abc123 4x56\u0663");
  };
  CHECK(digits(true) == W{"abc", "1", "2", "3", " ", "4", "x", "5", "6", "\u0663"});
  CHECK(digits(false) == W{"abc", "123", " ", "4", "x", "56\u0663"});
}
