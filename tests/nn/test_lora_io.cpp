// Adapter files (nn/lora_io.h) against Hugging Face PEFT: an adapter PEFT trained and saved loads
// into our GPT and gives PEFT's logits (unmerged, merged, and read as rsLoRA); what we save loads
// back bit for bit under PEFT's key names; every way an adapter folder can be wrong is an error that
// names the file and the tensor or field. target_modules null means the model type's default, as in
// PEFT: q_proj and v_proj on the LLaMA fixture (data/reference/llama_tiny/), c_attn on GPT-2.
//
// Fixtures: tests/data/reference/peft_adapter/ and peft_expected.safetensors, written by
// tests/reference/make_peft_fixture.py (torch 2.15, transformers 4.46.3, peft 0.13.2) on the tiny
// GPT-2 fixture gpt2_tiny/. Tolerance: max |ours - PEFT| <= 1e-5 * max |PEFT| over the logits, as for
// the base model in test_gpt_fixture.cpp; the adapter moves the logits by 0.62, so a wrong scaling,
// a transposed A or a missed layer is far outside it. The test prints the worst ratio.
#include <catch2/catch.hpp>

#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "nn/linear.h"
#include "nn/llama.h"
#include "nn/llama_checkpoint.h"
#include "nn/lora_io.h"
#include "tensor/all.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace lab;
namespace fs = std::filesystem;

namespace {

const std::string kRef = LAB_TEST_DATA_DIR "/reference/";
const std::string kBase = kRef + "gpt2_tiny";
const std::string kPeft = kRef + "peft_adapter";
double worst = 0;

// A fresh folder under this process's own temporary folder, which is removed when the program ends.
fs::path temp_dir(const std::string& name) {
  struct Root {
    fs::path path = fs::temp_directory_path() / ("loralab_test_lora_io_" + std::to_string(getpid()));
    ~Root() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static Root root;
  fs::path d = root.path / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// A copy of PEFT's adapter folder, to break one thing in.
fs::path peft_copy(const std::string& name) {
  fs::path d = temp_dir(name);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"}) fs::copy_file(fs::path(kPeft) / f, d / f);
  return d;
}

void edit_config(const fs::path& dir, const std::string& field, const nlohmann::json& value) {
  nlohmann::json j = lab::json_io::parse(read_text(dir / "adapter_config.json"));
  if (value.is_discarded()) j.erase(field);
  else j[field] = value;
  write_text(dir / "adapter_config.json", lab::json_io::dump(j, 2));
}

// Rewrites the folder's adapter_model.safetensors through `edit` (name -> tensor, in and out).
template <typename F> void edit_weights(const fs::path& dir, F edit) {
  std::map<std::string, Tensor> t = load_safetensors((dir / "adapter_model.safetensors").string());
  edit(t);
  save_safetensors((dir / "adapter_model.safetensors").string(), NamedTensors(t.begin(), t.end()));
}

Tensor expected(const std::string& name) { return SafetensorsFile::open(kRef + "peft_expected.safetensors").load(name); }

// max |ours - PEFT| <= 1e-5 max |PEFT|
void check_close(const std::string& what, const Tensor& ours, const Tensor& peft) {
  REQUIRE(ours.shape() == peft.shape());
  std::vector<float> a = ours.to_vector<float>(), b = peft.to_vector<float>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); i++) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  worst = std::max(worst, diff / scale);
  INFO(fmt::format("{}: max |ours - PEFT| = {:.3g}, max |PEFT| = {:.3g}", what, diff, scale));
  CHECK(diff <= 1e-5 * scale);
}

double max_abs_diff(const Tensor& x, const Tensor& y) {
  std::vector<float> a = x.to_vector<float>(), b = y.to_vector<float>();
  double d = 0;
  for (size_t i = 0; i < a.size(); i++) d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
  return d;
}

std::shared_ptr<nn::GPT> base_model() {
  auto m = nn::load_gpt(kBase);
  m->eval();
  return m;
}

// The message of the lab::Error that load_adapter throws on `dir`, and a check that the model did not change.
std::string load_error(const fs::path& dir) {
  auto model = base_model();
  const size_t before = model->named_parameters().size();
  Generator gen(0);
  std::string message;
  try {
    nn::load_adapter(*model, dir.string(), gen);
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(model->named_parameters().size() == before);  // checked before anything was wrapped
  return message;
}

const std::vector<std::string> kWrapped = {"h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_proj",
                                           "h.1.attn.c_attn", "h.1.attn.c_proj", "h.1.mlp.c_proj"};

}  // namespace

TEST_CASE("PEFT's adapter loads into our GPT and gives PEFT's logits, unmerged and merged") {
  auto model = base_model();
  const Tensor ids = expected("ids");
  check_close("base logits", model->forward(ids), expected("logits_base"));
  Generator gen(0);
  nn::AdapterConfig c = nn::load_adapter(*model, kPeft, gen);
  CHECK(c.lora.r == 4);
  CHECK(c.lora.lora_alpha == 8);
  std::vector<std::string> targets = c.lora.target_modules;  // PEFT keeps a set: the file's order varies from run to run
  std::sort(targets.begin(), targets.end());
  CHECK(targets == std::vector<std::string>{"c_attn", "c_proj"});
  CHECK(c.task_type == "CAUSAL_LM");
  CHECK(c.fan_in_fan_out);
  std::vector<std::string> wrapped;
  for (const auto& [name, m] : model->named_modules())
    if (auto* l = dynamic_cast<nn::LoRALinear*>(m)) {
      wrapped.push_back(name);
      CHECK(l->scaling() == 2.0);  // alpha / r = 8 / 4
    }
  CHECK(wrapped == kWrapped);  // "c_proj" matches attn.c_proj and mlp.c_proj alike, as in PEFT
  CHECK(model->num_parameters(/*trainable_only=*/true) == 2816);  // PEFT printed "trainable params: 2,816"

  const Tensor logits = model->forward(ids);
  CHECK(max_abs_diff(logits, expected("logits_base")) > 0.5);  // the adapter does something
  check_close("adapter logits", logits, expected("logits"));
  nn::merge_lora(*model);
  check_close("merged logits", model->forward(ids), expected("logits_merged"));

  // merge_and_unload: a plain GPT again, with GPT-2's parameters only, that save_gpt writes
  nn::unmerge_lora(*model);
  CHECK(nn::merge_and_unload(*model) == kWrapped);
  CHECK(model->named_parameters().size() == base_model()->named_parameters().size());
  check_close("merged and unloaded logits", model->forward(ids), expected("logits_merged"));
  const fs::path out = temp_dir("merged");
  nn::save_gpt(*model, out.string());
  check_close("merged model saved and loaded", base_model()->forward(ids), expected("logits_base"));  // the base is untouched
  auto reloaded = nn::load_gpt(out.string());
  check_close("merged model saved and loaded", reloaded->forward(ids), expected("logits_merged"));
  INFO("worst |ours - PEFT| / max |PEFT| so far: " << worst);
  WARN(fmt::format("adapter logits against PEFT: worst max |ours - PEFT| / max |PEFT| = {:.3g}", worst));
}

TEST_CASE("use_rslora in adapter_config.json scales by alpha over sqrt(r), as PEFT") {
  const fs::path dir = peft_copy("rslora");
  edit_config(dir, "use_rslora", true);
  auto model = base_model();
  Generator gen(0);
  nn::AdapterConfig c = nn::load_adapter(*model, dir.string(), gen);
  CHECK(c.lora.use_rslora);
  CHECK(model->child_as<nn::LoRALinear>("h.0.attn.c_attn").scaling() == 4.0);  // 8 / sqrt(4)
  check_close("rsLoRA logits", model->forward(expected("ids")), expected("logits_rslora"));
}

TEST_CASE("save_adapter writes PEFT's keys and config, and loading it back is bit for bit") {
  auto model = base_model();
  Generator gen(0);
  const nn::AdapterConfig c = nn::load_adapter(*model, kPeft, gen);
  const fs::path out = temp_dir("round_trip");
  nn::save_adapter(*model, c, out.string());

  // The same key names, shapes and values as the file PEFT wrote.
  SafetensorsFile peft = SafetensorsFile::open(kPeft + "/adapter_model.safetensors");
  SafetensorsFile ours = SafetensorsFile::open((out / "adapter_model.safetensors").string());
  std::vector<std::string> a = peft.names(), b = ours.names();
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  CHECK(a == b);
  CHECK(ours.metadata().at("format") == "pt");
  for (const std::string& name : a) {
    CHECK(ours.info(name).dtype == DType::f32);
    CHECK(ours.load(name).to_vector<float>() == peft.load(name).to_vector<float>());
  }
  // The config: PEFT's keys where they matter, sorted, and it reads back the same.
  const nlohmann::json j = lab::json_io::parse(read_text(out / "adapter_config.json"));
  const nlohmann::json p = lab::json_io::parse(read_text(fs::path(kPeft) / "adapter_config.json"));
  for (const char* key : {"base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode", "lora_alpha", "lora_dropout", "peft_type", "r",
                          "target_modules", "task_type", "use_rslora", "use_dora", "modules_to_save", "rank_pattern", "alpha_pattern"})
    CHECK(j.at(key) == p.at(key));
  const std::string text = read_text(out / "adapter_config.json");
  CHECK(text.find("\"alpha_pattern\"") < text.find("\"base_model_name_or_path\""));

  // Into a fresh model: every A and B bit for bit, and the same logits exactly.
  auto again = base_model();
  Generator other(7);
  nn::load_adapter(*again, out.string(), other);
  for (const auto& [name, t] : model->named_parameters())
    if (name.find(".lora_") != std::string::npos) CHECK(again->parameter(name).to_vector<float>() == t.to_vector<float>());
  CHECK(again->forward(expected("ids")).to_vector<float>() == model->forward(expected("ids")).to_vector<float>());

  // Loading into a model that has the adapter already (same r and scaling) overwrites A and B.
  auto injected = base_model();
  nn::LoraConfig same = c.lora;
  nn::inject_lora(*injected, same, other);
  nn::load_adapter(*injected, out.string(), other);
  CHECK(injected->forward(expected("ids")).to_vector<float>() == model->forward(expected("ids")).to_vector<float>());
  nn::LoraConfig rank8 = c.lora;
  rank8.r = 8;
  auto wrong_rank = base_model();
  nn::inject_lora(*wrong_rank, rank8, other);
  CHECK_THROWS_WITH(nn::load_adapter(*wrong_rank, out.string(), other), Catch::Contains("r is 4, but adapter 'default' of 'h.0.attn.c_attn' has rank 8"));
}

TEST_CASE("an adapter loralab trains is written for PEFT: rsLoRA, a regex target, its logits beside it") {
  // make_peft_fixture.py --check-ours DIR loads this folder into PEFT and compares the logits:
  //   LAB_PEFT_CHECK_DIR=/tmp/ours build/release/tests/test_lora_io "*for PEFT*"
  auto model = base_model();
  Generator gen(5);
  nn::AdapterConfig c;
  c.lora.r = 2;
  c.lora.lora_alpha = 6;
  c.lora.use_rslora = true;
  c.lora.target_regex = R"(h\.[0-9]+\.(attn\.c_attn|mlp\.c_fc))";  // on our names
  c.base_model_name_or_path = "tests/data/reference/gpt2_tiny";
  nn::inject_lora(*model, c.lora, gen);
  for (const auto& [name, m] : model->named_modules())  // B away from zero, as after training
    if (auto* l = dynamic_cast<nn::LoRALinear*>(m)) l->lora_B("default").copy_(mul(randn(l->lora_B("default").shape(), gen), 0.2));
  const Tensor ids = expected("ids");
  const Tensor logits = model->forward(ids);
  CHECK(max_abs_diff(logits, expected("logits_base")) > 0.01);

  std::vector<fs::path> dirs = {temp_dir("for_peft")};
  if (const char* d = std::getenv("LAB_PEFT_CHECK_DIR")) dirs.push_back(d);
  for (const fs::path& dir : dirs) {
    nn::save_adapter(*model, c, dir.string());
    save_safetensors((dir / "loralab_logits.safetensors").string(), {{"ids", ids}, {"logits", logits}});
  }
  // PEFT matches the regex against "transformer.h.0.attn.c_attn": the file says so.
  const nlohmann::json j = lab::json_io::parse(read_text(dirs[0] / "adapter_config.json"));
  CHECK(j.at("target_modules") == R"(transformer\.(?:h\.[0-9]+\.(attn\.c_attn|mlp\.c_fc)))");
  CHECK(j.at("use_rslora") == true);
  CHECK(j.at("r") == 2);
  CHECK(j.at("lora_alpha") == 6);
  CHECK(SafetensorsFile::open((dirs[0] / "adapter_model.safetensors").string()).has("base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight"));

  auto again = base_model();
  nn::load_adapter(*again, dirs[0].string(), gen);
  CHECK(again->forward(ids).to_vector<float>() == logits.to_vector<float>());
}

TEST_CASE("a broken adapter folder is an error naming the file and the tensor, and the model is left as it was") {
  SECTION("a renamed key: PEFT would load it as a no-op adapter and only warn") {
    fs::path d = peft_copy("renamed");
    edit_weights(d, [](std::map<std::string, Tensor>& t) {
      auto node = t.extract("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight");
      node.key() = "base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight";
      t.insert(std::move(node));
    });
    std::string e = load_error(d);
    CHECK_THAT(e, Catch::StartsWith((d / "adapter_model.safetensors").string()));
    CHECK_THAT(e, Catch::Contains("1 missing tensor(s): base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"));
    CHECK_THAT(e, Catch::Contains("1 unexpected tensor(s): base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight"));
    CHECK_THAT(e, Catch::Contains("PEFT's keys have no adapter name"));
  }
  SECTION("a missing key") {
    fs::path d = peft_copy("missing");
    edit_weights(d, [](std::map<std::string, Tensor>& t) { t.erase("base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight"); });
    std::string e = load_error(d);
    CHECK_THAT(e, Catch::Contains("1 missing tensor(s): base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight"));
    CHECK_THAT(e, Catch::Contains("selects 6 layers here"));
  }
  SECTION("an extra key: a layer the targets do not select") {
    fs::path d = peft_copy("extra");
    edit_weights(d, [](std::map<std::string, Tensor>& t) { t["base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight"] = zeros({4, 32}); });
    std::string e = load_error(d);
    CHECK_THAT(e, Catch::Contains("1 unexpected tensor(s): base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight"));
    CHECK(e.find("missing") == std::string::npos);
  }
  SECTION("a wrong shape: an adapter for a wider model") {
    fs::path d = peft_copy("wrong_shape");
    edit_weights(d, [](std::map<std::string, Tensor>& t) { t["base_model.model.transformer.h.1.attn.c_proj.lora_A.weight"] = zeros({4, 64}); });
    CHECK_THAT(load_error(d), Catch::Contains("expected base_model.model.transformer.h.1.attn.c_proj.lora_A.weight of shape [4, 32], found "
                                              "[4, 64] (HINT: lora_A is [r, in_features]: an adapter for another base model?)"));
  }
  SECTION("a rank that differs from the config's r") {
    fs::path d = peft_copy("wrong_rank");
    edit_config(d, "r", 8);
    CHECK_THAT(load_error(d), Catch::Contains("of shape [8, 32], found [4, 32] (HINT: its rank is 4 but adapter_config.json says r = 8)"));
  }
  SECTION("integer tensors") {
    fs::path d = peft_copy("int_dtype");
    edit_weights(d, [](std::map<std::string, Tensor>& t) { t["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"] = zeros({96, 4}, DType::i32); });
    CHECK_THAT(load_error(d), Catch::Contains("has dtype i32, expected a floating-point one"));
  }
  SECTION("missing files and folders") {
    fs::path d = peft_copy("no_weights");
    fs::remove(d / "adapter_model.safetensors");
    CHECK_THAT(load_error(d), Catch::Contains("adapter_model.safetensors: no such file (HINT: only safetensors adapters load"));
    fs::remove(d / "adapter_config.json");
    CHECK_THAT(load_error(d), Catch::Contains("adapter_config.json: no such file"));
    CHECK_THAT(load_error(d / "nowhere"), Catch::Contains("is not a folder"));
  }
  SECTION("bad adapter_config.json fields, each named") {
    const std::string file = "adapter_config.json: ";
    const std::vector<std::pair<std::pair<std::string, nlohmann::json>, std::string>> rows = {
        {{"r", 0}, "LoRA rank r must be >= 1, got 0"},
        {{"r", "four"}, "r must be a whole number of at most 2147483647, got \"four\""},
        {{"r", 4.5}, "r must be a whole number"},
        {{"lora_alpha", -8}, "lora_alpha must be a positive number, got -8"},
        {{"lora_alpha", "8"}, "lora_alpha must be a number, got \"8\""},
        {{"lora_dropout", 1.0}, "lora_dropout must be in [0, 1), got 1"},
        {{"use_rslora", "yes"}, "use_rslora must be true or false, got \"yes\""},
        {{"bias", "all"}, "bias 'all' is not supported"},
        {{"peft_type", "IA3"}, "peft_type is \"IA3\", only \"LORA\" adapters load here"},
        {{"peft_type", nlohmann::json::value_t::discarded}, "no peft_type"},
        {{"task_type", "SEQ_CLS"}, "task_type \"SEQ_CLS\" is not supported"},
        {{"target_modules", 5}, "target_modules must be a list of module names, a regex string or null, got 5"},
        {{"target_modules", nlohmann::json::array({"c_attn", 3})}, "target_modules must hold module names (strings), got 3"},
        {{"target_modules", "all-linear"}, "\"all-linear\" is not supported"},
        {{"target_modules", "c_attn("}, "is not a valid regular expression"},
        {{"target_modules", nlohmann::json::array({"q_proj", "v_proj"})}, "target_modules [\"q_proj\", \"v_proj\"] selects none of the model's Linear layers"},
        {{"target_modules", R"(h\.0\.attn\.c_attn)"}, R"(PEFT matches the regex against the whole name, such as transformer.h.0.attn.c_attn)"},
        {{"use_dora", true}, "use_dora = true is not supported"},
        {{"rank_pattern", nlohmann::json::object({{"c_attn", 8}})}, "rank_pattern = {\"c_attn\":8} is not supported: a rank per module"},
        {{"modules_to_save", nlohmann::json::array({"lm_head"})}, "modules_to_save = [\"lm_head\"] is not supported"},
        {{"layers_to_transform", nlohmann::json::array({0})}, "layers_to_transform = [0] is not supported"},
    };
    for (const auto& [edit, phrase] : rows) {
      fs::path d = peft_copy("bad_field");
      edit_config(d, edit.first, edit.second);
      INFO(edit.first << " = " << lab::json_io::dump(edit.second));
      std::string e = load_error(d);
      CHECK_THAT(e, Catch::StartsWith((d / "adapter_config.json").string()));
      CHECK_THAT(e, Catch::Contains(phrase));
    }
    fs::path d = peft_copy("not_json");
    write_text(d / "adapter_config.json", "{\"peft_type\": \"LORA\",");
    CHECK_THAT(load_error(d), Catch::Contains("adapter_config.json: not valid JSON"));
  }
}

TEST_CASE("adapter_config.json: PEFT's defaults, regex and list targets, unknown keys ignored, written back the same") {
  nn::AdapterConfig minimal = nn::parse_adapter_config(R"({"peft_type": "LORA", "some_future_field": [1, 2]})", "minimal.json");
  CHECK(minimal.lora.r == 8);
  CHECK(minimal.lora.lora_alpha == 8);
  CHECK(minimal.lora.target_modules == std::vector<std::string>{"c_attn"});  // PEFT's default for gpt2
  CHECK(minimal.lora.target_regex.empty());
  CHECK_FALSE(minimal.lora.use_rslora);
  CHECK(minimal.task_type.empty());

  nn::AdapterConfig regex = nn::parse_adapter_config(
      R"json({"peft_type": "LORA", "r": 16, "lora_alpha": 32.5, "use_rslora": true, "target_modules": ".*\\.(c_attn|c_fc)", "task_type": null,
          "base_model_name_or_path": "openai-community/gpt2", "rank_pattern": {}, "layers_to_transform": null, "use_dora": false})json",
      "regex.json");
  CHECK(regex.lora.target_regex == R"(.*\.(c_attn|c_fc))");
  CHECK(regex.lora.target_modules.empty());
  CHECK(regex.lora.scaling() == Approx(32.5 / 4));
  CHECK(regex.base_model_name_or_path == "openai-community/gpt2");

  for (const nn::AdapterConfig& c : {minimal, regex, nn::parse_adapter_config(read_text(fs::path(kPeft) / "adapter_config.json"), "peft")}) {
    const std::string text = nn::adapter_config_json(c);
    nn::AdapterConfig back = nn::parse_adapter_config(text, "written");
    CHECK(back.lora.r == c.lora.r);
    CHECK(back.lora.lora_alpha == c.lora.lora_alpha);
    CHECK(back.lora.lora_dropout == c.lora.lora_dropout);
    CHECK(back.lora.target_modules == c.lora.target_modules);
    CHECK(back.lora.target_regex == c.lora.target_regex);
    CHECK(back.lora.use_rslora == c.lora.use_rslora);
    CHECK(back.base_model_name_or_path == c.base_model_name_or_path);
    CHECK(back.task_type == c.task_type);
    CHECK(nn::adapter_config_json(back) == text);
  }
  CHECK_THAT(nn::adapter_config_json(regex), Catch::Contains("\"lora_alpha\": 32.5"));
  CHECK_THAT(nn::adapter_config_json(minimal), Catch::Contains("\"lora_alpha\": 8,"));  // 8, not 8.0, as PEFT writes an int
}

TEST_CASE("save_adapter refuses a config that does not describe the layers") {
  auto model = base_model();
  Generator gen(0);
  nn::AdapterConfig c;
  c.lora.r = 4;
  c.lora.target_modules = {"c_attn"};
  const fs::path out = temp_dir("refused");
  CHECK_THROWS_WITH(nn::save_adapter(*model, c, out.string()), Catch::Contains("no LoRA layers with an adapter named 'default'"));
  nn::inject_lora(*model, c.lora, gen);
  nn::AdapterConfig rank = c;
  rank.lora.r = 8;
  CHECK_THROWS_WITH(nn::save_adapter(*model, rank, out.string()), Catch::Contains("'h.0.attn.c_attn' has adapter 'default' of rank 4, but the config says r = 8"));
  nn::AdapterConfig alpha = c;
  alpha.lora.lora_alpha = 16;
  CHECK_THROWS_WITH(nn::save_adapter(*model, alpha, out.string()), Catch::Contains("with scaling 2, but the config's lora_alpha 16 and r 4 give 4"));
  nn::AdapterConfig targets = c;
  targets.lora.target_modules = {"c_attn", "c_fc"};
  CHECK_THROWS_WITH(nn::save_adapter(*model, targets, out.string()),
                    Catch::Contains("selects h.0.attn.c_attn, h.0.mlp.c_fc, h.1.attn.c_attn, h.1.mlp.c_fc in PEFT's naming, but adapter "
                                    "'default' is on h.0.attn.c_attn, h.1.attn.c_attn"));
  CHECK_FALSE(fs::exists(out / "adapter_config.json"));
  nn::save_adapter(*model, c, out.string());
  CHECK(fs::exists(out / "adapter_config.json"));
  // save_gpt refuses a model with LoRA layers; merge_and_unload makes it plain.
  CHECK_THROWS_WITH(nn::save_gpt(*model, temp_dir("plain").string()), Catch::Contains("merge"));
}

namespace {

// Every lora_B of `model` drawn from N(0, 0.1), so that the adapter changes the logits.
void randomize_lora_B(nn::Module& model, uint64_t seed) {
  Generator gen(seed);
  for (auto& [name, p] : model.named_parameters())
    if (name.find(".lora_B.") != std::string::npos) model.parameter(name).copy_(mul(randn(p.shape(), gen), 0.1));
}

std::vector<std::string> lora_layers(nn::Module& model) {
  std::vector<std::string> names;
  for (const auto& [name, m] : model.named_modules())
    if (dynamic_cast<nn::LoRALinear*>(m) != nullptr) names.push_back(name);
  return names;
}

}  // namespace

TEST_CASE("target_modules null means the model type's default: q_proj and v_proj on a LLaMA, c_attn on GPT-2") {
  const std::string llama_dir = kRef + "llama_tiny";
  const std::vector<int64_t> ids = {5, 72, 101, 108, 108, 111, 33, 9};
  // an adapter on the LLaMA fixture's q_proj and v_proj, its B random, saved with target_modules null
  auto trained = nn::load_llama(llama_dir);
  trained->eval();
  nn::AdapterConfig ac;
  ac.lora.r = 4, ac.lora.lora_alpha = 8, ac.lora.target_modules = {"q_proj", "v_proj"}, ac.fan_in_fan_out = false;
  Generator gen(2);
  nn::inject_lora(*trained, ac.lora, gen);
  randomize_lora_B(*trained, 3);
  const Tensor want = trained->forward(from_vector(ids, {1, 8}));
  const fs::path dir = temp_dir("llama_null_targets");
  nn::save_adapter(*trained, ac, dir.string());
  edit_config(dir, "target_modules", nullptr);
  const fs::path absent = temp_dir("llama_absent_targets");
  nn::save_adapter(*trained, ac, absent.string());
  edit_config(absent, "target_modules", nlohmann::json::value_t::discarded);
  REQUIRE_THAT(read_text(absent / "adapter_config.json"), !Catch::Contains("target_modules"));

  const std::vector<std::string> qv = {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj",
                                       "model.layers.1.self_attn.v_proj"};
  for (const fs::path& d : {dir, absent}) {
    INFO(d);
    auto fresh = nn::load_llama(llama_dir);
    fresh->eval();
    Generator other(9);
    const nn::AdapterConfig c = nn::load_adapter(*fresh, d.string(), other);
    CHECK(c.default_targets);
    CHECK(c.lora.target_modules == std::vector<std::string>{"q_proj", "v_proj"});
    CHECK(lora_layers(*fresh) == qv);
    CHECK(max_abs_diff(fresh->forward(from_vector(ids, {1, 8})), want) == 0.0);
  }
  // the same file, read as GPT-2's: c_attn, which a LLaMA does not have
  CHECK(nn::parse_adapter_config(read_text(dir / "adapter_config.json"), "gpt2 base", "gpt2").lora.target_modules ==
        std::vector<std::string>{"c_attn"});
  CHECK(nn::parse_adapter_config(read_text(dir / "adapter_config.json"), "llama base", nn::model_type_of(llama_dir)).lora.target_modules ==
        std::vector<std::string>{"q_proj", "v_proj"});
  CHECK_THAT(load_error(dir), Catch::Contains("target_modules [\"c_attn\"]") && Catch::Contains("unexpected tensor(s)"));
  // a model type whose default loralab does not know
  CHECK_THROWS_WITH(nn::parse_adapter_config(read_text(dir / "adapter_config.json"), "x.json", "mistral"),
                    Catch::Contains("x.json: target_modules is null") && Catch::Contains("\"mistral\""));
  CHECK_NOTHROW(nn::parse_adapter_config(R"({"peft_type": "LORA", "target_modules": ["q_proj"]})", "listed", "mistral"));

  // on GPT-2, null still means c_attn: an adapter on c_attn alone loads with its targets nulled
  auto gpt = base_model();
  nn::AdapterConfig gc;
  gc.lora.r = 2, gc.lora.target_modules = {"c_attn"};
  nn::inject_lora(*gpt, gc.lora, gen);
  randomize_lora_B(*gpt, 4);
  const Tensor gpt_want = gpt->forward(from_vector(ids, {1, 8}));
  const fs::path gdir = temp_dir("gpt2_null_targets");
  nn::save_adapter(*gpt, gc, gdir.string());
  edit_config(gdir, "target_modules", nullptr);
  auto fresh_gpt = base_model();
  Generator other(1);
  CHECK(nn::load_adapter(*fresh_gpt, gdir.string(), other).default_targets);
  CHECK(lora_layers(*fresh_gpt) == std::vector<std::string>{"h.0.attn.c_attn", "h.1.attn.c_attn"});
  CHECK(max_abs_diff(fresh_gpt->forward(from_vector(ids, {1, 8})), gpt_want) == 0.0);

  // the table agrees with what each family's default_lora_targets() says
  CHECK(nn::peft_default_targets("gpt2") == gpt->default_lora_targets());
  CHECK(nn::peft_default_targets("llama") == trained->default_lora_targets());
  CHECK_THROWS_WITH(nn::peft_default_targets("opt"), Catch::Contains("\"opt\""));
}
