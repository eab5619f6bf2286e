// loralab on a LLaMA folder that brings its own tokenizer.json: eval --text, generate --prompt and
// train --lora --text must tokenize with it, not one token a byte. The fixture llama_tiny (vocab 256)
// is copied beside a byte-level BPE tokenizer.json written here, since the committed ones
// (data/tokenizers/) have over 550 ids: GPT-2's 256 byte characters in vocab.json's order ('!' is 0,
// 'a' is 64), less the 11 bytes 0xF5..0xFF that UTF-8 never uses, plus 11 merges ("Ġthe", "Ġcat", ...):
// 256 ids, each a token, so every id the model writes decodes. eval's loss is checked against the
// library's on the tokenizer's ids, generate's text against the library's greedy ids decoded, and a
// tokenizer with an id the model has no row for is refused by all three.
#include "tensor/json_io.h"
#include "tests/tools/run_loralab.h"

#include "autograd/autograd.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/tokenizer.h"
#include "nn/causal_lm.h"
#include "nn/sample.h"
#include "tensor/factory.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace lab;

namespace {

const std::string kFixture = LAB_TEST_DATA_DIR "/reference/llama_tiny";

// The character byte b is written as in a byte-level vocabulary ("Ġ" for ' ').
std::string byte_char(int b) {
  std::string s;
  data::utf8_append(s, data::bytes_to_unicode()[size_t(b)]);
  return s;
}

// The tokenizer.json described at the top; `extra_merges` more merges take the ids from 256 on.
std::string tokenizer_json(int extra_merges) {
  // GPT-2's order: the printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') first, then the 68 others
  std::vector<int> order;
  for (int pass = 0; pass < 2; pass++)
    for (int b = 0; b < 256; b++) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      if (printable == (pass == 0) && b < 0xF5) order.push_back(b);
    }
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int b : order) vocab[byte_char(b)] = int64_t(vocab.size());
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"a", "t"}, {"Ġ", "c"}, {"Ġc", "at"}, {"Ġ", "s"}, {"Ġs", "at"}, {"Ġ", "m"}, {"Ġm", "at"}, {"Ġ", "o"},
      {"Ġ", "d"}, {"Ġd", "o"}};
  nlohmann::json merge_list = nlohmann::json::array();
  for (size_t i = 0; i < 11 + size_t(extra_merges); i++) {
    vocab[merges[i].first + merges[i].second] = int64_t(vocab.size());
    merge_list.push_back(merges[i].first + " " + merges[i].second);
  }
  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = nlohmann::json::array();
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["model"] = {{"type", "BPE"},          {"dropout", nullptr},   {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                {"vocab", vocab},         {"merges", merge_list}};
  return lab::json_io::dump(j, 2);
}

// A copy of the fixture with the tokenizer.json of tokenizer_json(extra_merges), in a folder of its own.
std::string llama_with_tokenizer(const std::string& name, int extra_merges) {
  const fs::path d = test_temp_dir("tokenizer") / name;
  fs::create_directories(d);
  for (const auto& e : fs::directory_iterator(kFixture)) fs::copy_file(e.path(), d / e.path().filename(), fs::copy_options::overwrite_existing);
  write_file_text(d / "tokenizer.json", tokenizer_json(extra_merges));
  return d.string();
}

std::string tokenizer_text_file() {
  const fs::path p = test_temp_dir("tokenizer") / "text.txt";
  std::string s;
  for (int i = 0; i < 12; i++) s += "the cat sat on the mat and the dog ran after it.\n";
  write_file_text(p, s);
  return p.string();
}

// The number after `key` in `out` ("loss        4.123456 nats/token" -> 4.123456), NaN when absent.
double number_after(const std::string& out, const std::string& key) {
  const size_t at = out.find(key);
  if (at == std::string::npos) return std::nan("");
  return std::stod(out.substr(at + key.size()));
}

// What `loralab eval` computes: the mean loss of windows of seq_len tokens, one after another.
double library_loss(nn::CausalLM& model, const std::vector<int64_t>& tokens, int64_t seq_len) {
  model.eval();
  ag::NoGradGuard no_grad;
  const int64_t predicted = int64_t(tokens.size()) - 1;
  double total = 0;
  for (int64_t start = 0; start < predicted; start += seq_len) {
    const int64_t len = std::min(seq_len, predicted - start);
    std::vector<int64_t> ids(tokens.begin() + start, tokens.begin() + start + len);
    std::vector<int64_t> targets(tokens.begin() + start + 1, tokens.begin() + start + len + 1);
    total += model.loss(from_vector(ids, {1, len}), from_vector(targets, {1, len})).item<double>() * double(len);
  }
  return total / double(predicted);
}

}  // namespace

TEST_CASE("loralab eval, generate and train --lora on a LLaMA use the folder's tokenizer.json") {
  const std::string model_dir = llama_with_tokenizer("good", 0), text = tokenizer_text_file();
  std::unique_ptr<data::Tokenizer> tokenizer = data::load_tokenizer(model_dir);
  REQUIRE(tokenizer->vocab_size() == 256);
  const std::string text_bytes = read_file_text(text);
  const std::vector<int64_t> tokens = tokenizer->encode(text_bytes);
  REQUIRE(tokens.size() < text_bytes.size());  // the merges make fewer tokens than bytes
  std::shared_ptr<nn::CausalLM> model = nn::load_causal_lm(model_dir);

  SECTION("eval --text: the tokenizer's ids, and the library's loss on them") {
    CliResult r = run_loralab({"eval", "--model", model_dir, "--text", text});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains(fmt::format("{}: {} tokens (text, {})", text, tokens.size(), tokenizer->describe())));
    const double want = library_loss(*model, tokens, model->context_length());
    CHECK(number_after(r.out, "loss        ") == Approx(want).margin(2e-6));  // printed with 6 decimals
    // one token a byte would score other ids: not the same loss
    CHECK(std::fabs(library_loss(*model, data::encode_bytes(text_bytes), model->context_length()) - want) > 1e-3);
  }

  SECTION("generate --prompt: the prompt encoded and the new ids decoded by the tokenizer") {
    const std::string prompt = "the cat sat on the";
    CliResult r = run_loralab({"generate", "--model", model_dir, "--prompt", prompt, "--max-new-tokens", "24", "--temperature", "0"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    nn::SampleOptions greedy;
    greedy.temperature = 0;
    const std::vector<int64_t> ids = nn::generate(*model, tokenizer->encode(prompt), 24, greedy);
    CHECK(r.out == prompt + tokenizer->decode(ids) + "\n");
    CHECK(r.out != prompt + data::decode_bytes(nn::generate(*model, data::encode_bytes(prompt), 24, greedy)) + "\n");
  }

  SECTION("train --lora --text: trains on the tokenizer's ids") {
    const std::string out = (test_temp_dir("tokenizer") / "lora").string();
    CliResult r = run_loralab({"train", "--model", model_dir, "--lora", "--text", text, "--steps", "2", "--batch", "2", "--seq-len", "16",
                               "--eval-every", "0", "--out", out, "--fresh"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains(tokenizer->describe()));
    const size_t at = r.out.find(tokenizer->describe() + ": ");
    REQUIRE(at != std::string::npos);
    const std::string counts = r.out.substr(at + tokenizer->describe().size() + 2);  // "N tokens to train on, M to validate"
    const int64_t train_tokens = std::stoll(counts), val_tokens = int64_t(number_after(counts, "to train on, "));
    CHECK(train_tokens + val_tokens == int64_t(tokens.size()));
    CHECK(fs::exists(fs::path(out) / "adapter" / "adapter_model.safetensors"));
  }
}

TEST_CASE("a tokenizer.json with an id past the model's vocabulary is refused by eval, generate and train") {
  const std::string model_dir = llama_with_tokenizer("too_big", 2), text = tokenizer_text_file();  // ids 256 and 257
  REQUIRE(data::load_tokenizer(model_dir)->vocab_size() == 258);
  const std::string phrase = "has 258 tokens, more than the model's vocab_size 256";
  check_bad_inputs({{"tokenizer ids past vocab_size", {"eval", "--model", model_dir, "--text", text}, 1, phrase},
                    {"tokenizer ids past vocab_size", {"generate", "--model", model_dir, "--prompt", "the cat"}, 1, phrase},
                    {"tokenizer ids past vocab_size",
                     {"train", "--model", model_dir, "--lora", "--text", text, "--steps", "1", "--out", (test_temp_dir("tokenizer") / "x").string()},
                     1,
                     phrase}},
                   test_temp_dir("tokenizer").string(), "$TMP");
}
