// The files the `loralab eval` and `loralab generate` tests run on, made at test time in a temporary
// folder from the committed fixture checkpoint data/reference/gpt2_tiny/ (2 layers, 32 wide,
// context 16, vocab 256): a good copy, and one broken copy per way a checkpoint folder can be
// wrong, so that nothing large or broken is committed. Read run_loralab.h first.
#pragma once

#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"
#include "tests/tools/run_loralab.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

struct CliFiles {
  std::filesystem::path dir;  // the temporary folder holding all of the below
  std::string model;          // a good copy of gpt2_tiny
  std::string text;           // a short text file
  // checkpoint folders, each wrong in one way
  std::string no_config, bad_json, bad_field, bad_type, no_weights, truncated, wrong_shape, missing_tensor, vocab_300;
  std::string a_file;         // a regular file, where a folder is expected
  std::string empty_dir;      // a folder, where a file is expected
};

inline const CliFiles& cli_files() {
  namespace fs = std::filesystem;
  static CliFiles f = [] {
    CliFiles f;
    f.dir = test_temp_dir("cli_files");
    const fs::path fixture = fs::path(LAB_TEST_DATA_DIR) / "reference" / "gpt2_tiny";
    const std::string config = read_file_text(fixture / "config.json");
    const std::string weights = read_file_text(fixture / "model.safetensors");
    // A checkpoint folder with the given config.json text and model.safetensors bytes ("" leaves a file out).
    auto folder = [&](const std::string& name, const std::string& config_text, const std::string& weights_bytes) {
      fs::path d = f.dir / name;
      fs::create_directories(d);
      if (!config_text.empty()) write_file_text(d / "config.json", config_text);
      if (!weights_bytes.empty()) write_file_text(d / "model.safetensors", weights_bytes);
      return d.string();
    };
    auto edited_config = [&](const std::string& field, const nlohmann::json& value) {
      nlohmann::json j = lab::json_io::parse(config);
      j[field] = value;
      return lab::json_io::dump(j, 2);
    };
    f.model = folder("model", config, weights);
    f.no_config = folder("no_config", "", weights);
    f.bad_json = folder("bad_json", "{\"n_layer\": 2,", weights);
    f.bad_field = folder("bad_field", edited_config("n_head", 3), weights);  // 32 is not a multiple of 3
    f.bad_type = folder("bad_type", edited_config("n_layer", "two"), weights);
    f.no_weights = folder("no_weights", config, "");
    f.truncated = folder("truncated", config, weights.substr(0, weights.size() / 2));
    f.wrong_shape = folder("wrong_shape", edited_config("n_positions", 32), weights);  // wpe is [16, 32] in the file
    {
      lab::NamedTensors kept;  // every tensor but the final LayerNorm's bias
      lab::SafetensorsFile file = lab::SafetensorsFile::open((fixture / "model.safetensors").string());
      for (const std::string& name : file.names())
        if (name.find("ln_f.bias") == std::string::npos) kept.emplace_back(name, file.load(name));
      f.missing_tensor = folder("missing_tensor", config, "");
      lab::save_safetensors(f.missing_tensor + "/model.safetensors", kept);
    }
    {
      lab::nn::GPTConfig c = lab::nn::tiny_gpt_config();
      c.vocab_size = 300, c.n_positions = 16, c.n_embd = 8, c.n_layer = 1, c.n_head = 2;
      lab::Generator gen(0);
      f.vocab_300 = (f.dir / "vocab_300").string();
      lab::nn::save_gpt(lab::nn::GPT(c, gen), f.vocab_300);
    }
    f.text = (f.dir / "text.txt").string();
    write_file_text(f.text, "mia has a red ball. the red ball is small.\ntom has a blue cup.\n");
    f.a_file = f.text;
    f.empty_dir = (f.dir / "empty_dir").string();
    fs::create_directories(f.empty_dir);
    return f;
  }();
  return f;
}
