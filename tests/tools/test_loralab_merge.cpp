// `loralab merge` and `--adapter` from the outside: merging PEFT's adapter (data/reference/peft_adapter/)
// into the fixture checkpoint writes the model PEFT's merge_and_unload computes; eval and generate
// with --adapter agree with the merged checkpoint; and every bad adapter folder or flag gets one line
// on stderr and the right exit status (1: the command failed, 2: a bad command line).
// The checkpoint folders come from cli_files.h; the adapter folders are copied and broken here.
#include "tensor/json_io.h"
#include "tests/tools/cli_files.h"

#include "nn/gpt_checkpoint.h"
#include "tensor/factory.h"
#include "tensor/safetensors.h"

#include <cmath>

namespace fs = std::filesystem;

namespace {

struct AdapterFiles {
  std::string good, no_config, no_weights, bad_field, renamed, other_model, merged;
};

// A copy of PEFT's adapter in the CLI test folder, then one broken copy per way an adapter can be wrong.
const AdapterFiles& adapter_files() {
  static AdapterFiles a = [] {
    const CliFiles& f = cli_files();
    const fs::path peft = fs::path(LAB_TEST_DATA_DIR) / "reference" / "peft_adapter";
    const std::string config = read_file_text(peft / "adapter_config.json");
    const std::string weights = read_file_text(peft / "adapter_model.safetensors");
    auto folder = [&](const std::string& name, const std::string& config_text, const std::string& weights_bytes) {
      fs::path d = f.dir / name;
      fs::create_directories(d);
      if (!config_text.empty()) write_file_text(d / "adapter_config.json", config_text);
      if (!weights_bytes.empty()) write_file_text(d / "adapter_model.safetensors", weights_bytes);
      return d.string();
    };
    AdapterFiles a;
    a.good = folder("adapter", config, weights);
    a.no_config = folder("adapter_no_config", "", weights);
    a.no_weights = folder("adapter_no_weights", config, "");
    nlohmann::json j = lab::json_io::parse(config);
    j["r"] = 0;
    a.bad_field = folder("adapter_bad_field", lab::json_io::dump(j, 2), weights);
    {
      lab::NamedTensors renamed;  // the adapter name left in one key, as in the live PEFT model
      lab::SafetensorsFile file = lab::SafetensorsFile::open((peft / "adapter_model.safetensors").string());
      for (const std::string& name : file.names()) {
        std::string key = name;
        if (key == "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight") key = "base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight";
        renamed.emplace_back(key, file.load(name));
      }
      a.renamed = folder("adapter_renamed", config, "");
      lab::save_safetensors(a.renamed + "/adapter_model.safetensors", renamed);
    }
    {
      lab::NamedTensors wide;  // an adapter for a model 64 wide: lora_A [4, 64]
      lab::SafetensorsFile file = lab::SafetensorsFile::open((peft / "adapter_model.safetensors").string());
      for (const std::string& name : file.names()) {
        lab::Tensor t = file.load(name);
        lab::Shape s = t.shape();
        if (name.find("lora_A") != std::string::npos && name.find("mlp") == std::string::npos) s[1] = 64;
        wide.emplace_back(name, lab::zeros(s));
      }
      a.other_model = folder("adapter_other_model", config, "");
      lab::save_safetensors(a.other_model + "/adapter_model.safetensors", wide);
    }
    a.merged = (f.dir / "merged").string();
    return a;
  }();
  return a;
}

// Runs `loralab merge` once for the test program: the merged checkpoint of PEFT's adapter.
const CliResult& merged_run() {
  static CliResult r = run_loralab({"merge", "--model", cli_files().model, "--adapter", adapter_files().good, "--out", adapter_files().merged});
  return r;
}

}  // namespace

TEST_CASE("loralab merge writes the checkpoint that PEFT's merge_and_unload computes") {
  const CliResult& r = merged_run();
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Contains("r 4, lora_alpha 8, scaling 2,"));
  CHECK_THAT(r.out, Catch::Contains("merged      6 layers"));
  // merged against unmerged on the probe batch: only rounding
  const double diff = printed_value(r.out, "max |merged - unmerged| logits:");
  CHECK(diff < 1e-5);

  lab::SafetensorsFile expected = lab::SafetensorsFile::open(std::string(LAB_TEST_DATA_DIR) + "/reference/peft_expected.safetensors");
  auto model = lab::nn::load_gpt(adapter_files().merged);  // a plain GPT-2 folder: no LoRA tensors left
  model->eval();
  const std::vector<float> ours = model->forward(expected.load("ids")).to_vector<float>();
  const std::vector<float> peft = expected.load("logits_merged").to_vector<float>();
  REQUIRE(ours.size() == peft.size());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < ours.size(); i++) {
    worst = std::max(worst, std::fabs(double(ours[i]) - double(peft[i])));
    scale = std::max(scale, std::fabs(double(peft[i])));
  }
  CHECK(worst <= 1e-5 * scale);
}

TEST_CASE("loralab eval and generate with --adapter agree with the merged checkpoint") {
  const CliFiles& f = cli_files();
  REQUIRE(merged_run().code == 0);
  CliResult base = run_loralab({"eval", "--model", f.model, "--text", f.text});
  CliResult with = run_loralab({"eval", "--model", f.model, "--adapter", adapter_files().good, "--text", f.text});
  CliResult merged = run_loralab({"eval", "--model", adapter_files().merged, "--text", f.text});
  INFO("with --adapter: " << with.out << with.err);
  REQUIRE(base.code == 0);
  REQUIRE(with.code == 0);
  REQUIRE(merged.code == 0);
  CHECK_THAT(with.out, Catch::Contains("r 4, lora_alpha 8, scaling 2, 2816 parameters, applied unmerged"));
  const double loss = printed_value(with.out, "loss");
  CHECK(loss == Approx(printed_value(merged.out, "loss")).epsilon(1e-5));
  CHECK(std::fabs(loss - printed_value(base.out, "loss")) > 1e-3);  // the adapter changes the loss

  auto generate = [](std::vector<std::string> model_flags) {
    std::vector<std::string> args = {"generate", "--prompt", "mia has a ", "--temperature", "0", "--max-new-tokens", "12"};
    args.insert(args.end(), model_flags.begin(), model_flags.end());
    return run_loralab(args);
  };
  CliResult g = generate({"--model", f.model, "--adapter", adapter_files().good});
  REQUIRE(g.code == 0);
  CHECK(g.out == generate({"--model", adapter_files().merged}).out);
}

TEST_CASE("loralab merge, eval and generate on bad adapter folders and flags") {
  const CliFiles& f = cli_files();
  const AdapterFiles& a = adapter_files();
  const std::string out = (f.dir / "merge_out").string();
  auto merge = [&](const std::string& adapter) { return std::vector<std::string>{"merge", "--model", f.model, "--adapter", adapter, "--out", out}; };
  check_bad_inputs(
      {
          {"adapter folder missing", merge(f.dir.string() + "/nowhere"), 2, "--adapter: " + f.dir.string() + "/nowhere: no such folder"},
          {"adapter folder is a file", merge(f.a_file), 2, "is a file, expected a folder: an adapter folder"},
          {"no adapter_config.json", merge(a.no_config), 1, "adapter_no_config/adapter_config.json: no such file"},
          {"no adapter_model.safetensors", merge(a.no_weights), 1, "adapter_no_weights/adapter_model.safetensors: no such file"},
          {"adapter_config.json: r 0", merge(a.bad_field), 1, "adapter_bad_field/adapter_config.json: LoRA rank r must be >= 1, got 0"},
          {"adapter key renamed", merge(a.renamed), 1,
           "1 missing tensor(s): base_model.model.transformer.h.0.attn.c_attn.lora_A.weight; 1 unexpected tensor(s): "
           "base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight"},
          {"adapter for another model", merge(a.other_model), 1,
           "expected base_model.model.transformer.h.0.attn.c_attn.lora_A.weight of shape [4, 32], found [4, 64]"},
          {"--out is a file", {"merge", "--model", f.model, "--adapter", a.good, "--out", f.a_file}, 2,
           "--out: " + f.a_file + " is a file, expected a folder"},
          {"no --out", {"merge", "--model", f.model, "--adapter", a.good}, 2, "--out is required"},
          {"no --adapter", {"merge", "--model", f.model, "--out", out}, 2, "--adapter is required"},
          {"merge: model folder missing", {"merge", "--model", f.dir.string() + "/nowhere", "--adapter", a.good, "--out", out}, 2,
           "--model: " + f.dir.string() + "/nowhere: no such folder"},
          {"adapter on a model of another shape", {"merge", "--model", f.vocab_300, "--adapter", a.good, "--out", out}, 1,
           "expected base_model.model.transformer.h.0.attn.c_attn.lora_A.weight of shape [4, 8], found [4, 32]"},
          {"eval --adapter missing", {"eval", "--model", f.model, "--text", f.text, "--adapter", f.dir.string() + "/nowhere"}, 2,
           "--adapter: " + f.dir.string() + "/nowhere: no such folder"},
          {"eval --adapter with a bad field", {"eval", "--model", f.model, "--text", f.text, "--adapter", a.bad_field}, 1,
           "LoRA rank r must be >= 1, got 0"},
          {"generate --adapter a file", {"generate", "--model", f.model, "--prompt", "mia", "--adapter", f.a_file}, 2,
           "is a file, expected a folder: an adapter folder"},
          {"generate --adapter key renamed", {"generate", "--model", f.model, "--prompt", "mia", "--adapter", a.renamed}, 1,
           "1 unexpected tensor(s)"},
      },
      f.dir.string(), "$TMP");
  CHECK_FALSE(fs::exists(out));  // nothing is written when the merge cannot be done
}
