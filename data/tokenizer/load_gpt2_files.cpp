// vocab.json + merges.txt -> a GPT-2 BpeTokenizer (see load_gpt2_files.h).
#include "data/tokenizer/load_gpt2_files.h"

#include "tensor/error.h"
#include "tensor/json_io.h"

#include <nlohmann/json.hpp>

#include <unordered_set>

namespace lab::data {

std::unique_ptr<BpeTokenizer> parse_gpt2_files(std::string_view vocab_json, const std::string& vocab_name,
                                               std::string_view merges_txt, const std::string& merges_name) {
  nlohmann::json j;
  try {
    j = json_io::parse(vocab_json);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number past double (1e999)
    LAB_FAIL("{}: not valid JSON: {} (HINT: vocab.json is one object {{\"token\": id, ...}})", vocab_name, e.what());
  }
  LAB_CHECK(j.is_object(), "{}: expected a JSON object {{\"token\": id, ...}}, found {}", vocab_name, j.type_name());
  std::unordered_map<std::string, int64_t> vocab;
  std::unordered_set<int64_t> ids;
  for (const auto& [token, id] : j.items()) {
    LAB_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t(1) << 31),
              "{}: key \"{}\": expected a token id (an integer in [0, 2^31)), found {}", vocab_name, token, json_io::dump(id));
    LAB_CHECK(ids.insert(id.get<int64_t>()).second, "{}: key \"{}\": id {} is given to two tokens (HINT: each id names one token)",
              vocab_name, token, id.get<int64_t>());
    vocab.emplace(token, id.get<int64_t>());
  }
  LAB_CHECK(!vocab.empty(), "{}: the vocabulary is empty", vocab_name);

  BpeModel model(std::move(vocab), BpeOptions{}, vocab_name);
  size_t line_no = 0;
  for (size_t at = 0; at < merges_txt.size();) {
    size_t eol = merges_txt.find('\n', at);
    std::string_view line = merges_txt.substr(at, eol == std::string_view::npos ? std::string_view::npos : eol - at);
    at = eol == std::string_view::npos ? merges_txt.size() : eol + 1;
    line_no++;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if ((line_no == 1 && line.starts_with("#version")) || line.empty()) continue;
    size_t space = line.find(' ');
    LAB_CHECK(space != std::string_view::npos && space > 0 && space + 1 < line.size() && line.find(' ', space + 1) == std::string_view::npos,
              "{}:{}: expected a merge \"a b\" (two tokens and one space), found \"{}\"", merges_name, line_no,
              std::string(line.substr(0, 80)));
    model.add_merge(std::string(line.substr(0, space)), std::string(line.substr(space + 1)),
                    fmt::format("{}:{}", merges_name, line_no));
  }

  std::vector<AddedToken> added;
  if (auto it = model.vocab().find("<|endoftext|>"); it != model.vocab().end())
    added.push_back({"<|endoftext|>", it->second, true, false, false});
  PreTokenizer byte_level{.kind = PreTokenizer::Kind::ByteLevel};
  byte_level.add_prefix_space = false;
  byte_level.regex = std::make_shared<const Regex>(kGpt2Pattern, "GPT-2's pattern");
  return std::make_unique<BpeTokenizer>(std::move(model), std::move(added), std::vector<Normalizer>{},
                                        std::vector<PreTokenizer>{byte_level}, std::vector<Decoder>{Decoder{.kind = Decoder::Kind::ByteLevel}},
                                        true, vocab_name + " + " + merges_name);
}

std::unique_ptr<BpeTokenizer> load_gpt2_files(const std::string& vocab_json_path, const std::string& merges_txt_path) {
  std::string vocab = read_tokenizer_file(vocab_json_path);
  std::string merges = read_tokenizer_file(merges_txt_path);
  return parse_gpt2_files(vocab, vocab_json_path, merges, merges_txt_path);
}

}  // namespace lab::data
