// load_tokenizer: which files of a model folder make its tokenizer (see tokenizer.h).
#include "data/tokenizer/tokenizer.h"

#include "data/tokenizer/load_gpt2_files.h"
#include "data/tokenizer/load_tokenizer_json.h"
#include "tensor/error.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lab::data {

std::string read_tokenizer_file(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  LAB_CHECK(std::filesystem::exists(status), "{}: no such file (HINT: check the path; a model folder holds tokenizer.json, "
            "or vocab.json and merges.txt)", path);
  LAB_CHECK(!std::filesystem::is_directory(status), "{}: is a directory, expected a tokenizer file", path);
  std::ifstream in(path, std::ios::binary);
  LAB_CHECK(in.good(), "{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  LAB_CHECK(!in.bad(), "{}: cannot read: {}", path, std::strerror(errno));
  return text.str();
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  LAB_CHECK(fs::is_directory(model_dir, ec), "{}: is not a folder, expected a model folder holding tokenizer.json, "
            "or vocab.json and merges.txt", model_dir);
  fs::path dir(model_dir);
  if (fs::exists(dir / "tokenizer.json", ec)) return load_tokenizer_json((dir / "tokenizer.json").string());
  bool vocab = fs::exists(dir / "vocab.json", ec), merges = fs::exists(dir / "merges.txt", ec);
  if (vocab && merges) return load_gpt2_files((dir / "vocab.json").string(), (dir / "merges.txt").string());
  LAB_FAIL("{}: no tokenizer found: looked for tokenizer.json, then vocab.json + merges.txt{} (HINT: copy the tokenizer "
           "files from where the model came from; sentencepiece's tokenizer.model alone is not read)",
           model_dir, vocab ? " (merges.txt is missing)" : merges ? " (vocab.json is missing)" : "");
}

}  // namespace lab::data
