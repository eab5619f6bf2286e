// BPE tokenizer files that are wrong: each a lab::Error naming the file, the line or JSON path, and a hint.
#include <catch2/catch.hpp>

#include "data/tokenizer/load_gpt2_files.h"
#include "data/tokenizer/load_tokenizer_json.h"
#include "data/tokenizer/tokenizer.h"
#include "tensor/error.h"
#include "tests/dataset/tokenizer_fixtures.h"

#include <filesystem>
#include <fstream>

using namespace lab::data;
using Catch::Contains;

namespace {

// A tokenizer.json around a vocabulary {a, b, ab} and the merge "a b", with `pre` as its pre_tokenizer.
std::string tiny_json(const std::string& pre, const std::string& merges = R"(["a b"])", const std::string& model_type = "BPE") {
  return R"({"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": )" + pre +
         R"(, "decoder": null, "model": {"type": ")" + model_type + R"(", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": )" + merges + "}}";
}

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("lab_test_bpe_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST_CASE("bpe errors: a missing file, a directory, a folder without tokenizer files") {
  CHECK_THROWS_WITH(load_tokenizer_json(kTokenizerFixtures + "nope/tokenizer.json"), Contains("nope/tokenizer.json: no such file") && Contains("HINT"));
  CHECK_THROWS_WITH(load_tokenizer_json(kTokenizerFixtures + "gpt2_json"), Contains("is a directory"));
  std::string empty = temp_dir("empty");
  CHECK_THROWS_WITH(load_tokenizer(empty), Contains("no tokenizer found: looked for tokenizer.json, then vocab.json + merges.txt"));
  std::ofstream(empty + "/vocab.json") << "{}";
  CHECK_THROWS_WITH(load_tokenizer(empty), Contains("(merges.txt is missing)"));
  CHECK_THROWS_WITH(load_tokenizer(kTokenizerFixtures + "expected.json"), Contains("is not a folder"));
  std::filesystem::remove_all(empty);
}

TEST_CASE("bpe errors: bad JSON and wrong JSON types name the file and the path") {
  CHECK_THROWS_WITH(parse_tokenizer_json("{\"model\": ", "t.json"), Contains("t.json: not valid JSON"));
  CHECK_THROWS_WITH(parse_tokenizer_json("[1, 2]", "t.json"), Contains("t.json: (top level): expected an object, found array"));
  CHECK_THROWS_WITH(parse_tokenizer_json("{}", "t.json"), Contains("missing the field \"model\""));
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json("null", R"(["a b", 7])"), "t.json"),
                    Contains("t.json: model.merges[1]: expected \"a b\" or [\"a\", \"b\"], found 7"));
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json("null", R"(["a  b"])"), "t.json"), Contains("model.merges[0]: expected \"a b\""));
  CHECK_THROWS_WITH(parse_gpt2_files("{\"a\": \"x\"}", "v.json", "", "m.txt"), Contains("v.json: key \"a\": expected a token id"));
  CHECK_THROWS_WITH(parse_gpt2_files("{\"a\": 0, \"b\": 0}", "v.json", "", "m.txt"), Contains("id 0 is given to two tokens"));
  CHECK_THROWS_WITH(parse_gpt2_files("not json", "v.json", "", "m.txt"), Contains("v.json: not valid JSON"));
  // a number past double's range is nlohmann's out_of_range, not a parse_error (found by fuzz_tokenizer_json)
  CHECK_THROWS_WITH(parse_tokenizer_json(R"({"model": 4E444})", "t.json"), Contains("t.json: not valid JSON") && Contains("number overflow"));
  CHECK_THROWS_WITH(parse_gpt2_files(R"({"a": 1e999})", "v.json", "", "m.txt"), Contains("v.json: not valid JSON"));
  // ids far past the number of tokens would size the id table by the id, not by the file (found by
  // fuzz_tokenizer_json: tests/fuzz/tokenizer_json/oom_sparse_token_id asked for gigabytes)
  CHECK_THROWS_WITH(parse_gpt2_files(R"({"a": 0, "b": 2147483000})", "v.json", "", "m.txt"),
                    Contains("v.json + m.txt: the largest token id is 2147483000, but the file has only 2 tokens"));
  const std::string sparse_added = R"({"version": "1.0", "added_tokens": [{"id": 2000000000, "content": "<s>", "special": true}],
      "normalizer": null, "pre_tokenizer": null, "decoder": null, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";
  CHECK_THROWS_WITH(parse_tokenizer_json(sparse_added, "t.json"), Contains("t.json: the largest token id is 2000000000") && Contains("with few gaps"));
  // the fixtures number their tokens densely, as every real file does
  CHECK_NOTHROW(parse_tokenizer_json(tiny_json("null"), "t.json"));
}

TEST_CASE("bpe errors: a merge naming a token not in the vocabulary names the line or the JSON path") {
  CHECK_THROWS_WITH(parse_gpt2_files(R"({"a": 0, "b": 1, "ab": 2})", "v.json", "#version: 0.2\na b\na c\n", "m.txt"),
                    Contains("m.txt:3: the merge \"a\" + \"c\" names the token \"c\", which is not in the vocabulary") && Contains("HINT"));
  CHECK_THROWS_WITH(parse_gpt2_files(R"({"a": 0, "b": 1})", "v.json", "a b\n", "m.txt"), Contains("m.txt:1") && Contains("the merged token \"ab\""));
  CHECK_THROWS_WITH(parse_gpt2_files(R"({"a": 0, "b": 1, "ab": 2})", "v.json", "a b c\n", "m.txt"),
                    Contains("m.txt:1: expected a merge \"a b\""));
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json("null", R"([["a", "z"]])"), "t.json"),
                    Contains("t.json: model.merges[0]: the merge \"a\" + \"z\" names the token \"z\""));
}

TEST_CASE("bpe errors: an unsupported component names its path and type and lists what is supported") {
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json(R"({"type": "Whitespace"})"), "t.json"),
                    Contains("t.json: pre_tokenizer: pre_tokenizer type \"Whitespace\" is not supported; supported: ByteLevel, Split, Metaspace, Digits, Sequence"));
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json(R"({"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "Punctuation"}]})"), "t.json"),
                    Contains("pre_tokenizer.pretokenizers[1]: pre_tokenizer type \"Punctuation\""));
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json("null", R"(["a b"])", "WordPiece"), "t.json"),
                    Contains("model.type: model type \"WordPiece\" is not supported; supported: BPE"));
  std::string nfc = tiny_json("null");
  nfc.replace(nfc.find("\"normalizer\": null"), 18, R"("normalizer": {"type": "NFC"})");
  CHECK_THROWS_WITH(parse_tokenizer_json(nfc, "t.json"), Contains("normalizer: normalizer type \"NFC\" is not supported"));
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json(R"({"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated", "invert": false})"), "t.json"),
                    Contains("t.json: pre_tokenizer.pattern.Regex: bad regex"));
  CHECK_THROWS_WITH(parse_tokenizer_json(tiny_json(R"({"type": "Split", "pattern": {"String": "a"}, "behavior": "Sideways"})"), "t.json"),
                    Contains("pre_tokenizer.behavior: \"Sideways\" is not one of"));
}

TEST_CASE("bpe errors: decoding an id out of range names the file, the id and its position") {
  auto tok = load_tokenizer(kTokenizerFixtures + "gpt2_files");
  CHECK_THROWS_AS(tok->decode({0, 557}), lab::Error);
  CHECK_THROWS_WITH(tok->decode({0, 1, 99999}), Contains("merges.txt: cannot decode id 99999 at position 2: ids must be in [0, 557)") && Contains("HINT"));
  CHECK_THROWS_WITH(tok->decode({-1}), Contains("id -1 at position 0"));
  // a vocabulary with a hole: id 5 is in range but no token has it
  auto holes = parse_gpt2_files(R"({"a": 0, "b": 6})", "v.json", "", "m.txt");
  CHECK_THROWS_WITH(holes->decode({5}), Contains("no token has this id"));
  // a character with no token, no byte fallback and no unk_token cannot be encoded
  auto tiny = parse_tokenizer_json(tiny_json("null"), "t.json");
  CHECK(tiny->encode("ab") == std::vector<int64_t>{2});
  CHECK_THROWS_WITH(tiny->encode("abc"), Contains("t.json: the character \\x63 has no token"));
}
