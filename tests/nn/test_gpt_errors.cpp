// The errors of nn::GPT, its config.json and its checkpoints: each a lab::Error that names the
// file, the field or tensor, and what was expected and found. And what a loader must accept
// (bf16 weights, a tied lm_head.weight) without complaint.
#include <catch2/catch.hpp>

#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "nn/linear.h"
#include "nn/sample.h"
#include "tensor/all.h"
#include "tensor/safetensors.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace lab;
using namespace lab::nn;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

struct ErrorsTempDir {
  fs::path path = fs::temp_directory_path() / fmt::format("loralab_test_gpt_errors_{}_{}", getpid(), counter++);
  ~ErrorsTempDir() { fs::remove_all(path); }
  static inline int counter = 0;
};

GPTConfig one_layer_config() {
  GPTConfig c;
  c.vocab_size = 50, c.n_positions = 8, c.n_embd = 16, c.n_layer = 1, c.n_head = 2;
  return c;
}

// A good checkpoint in dir, and its tensors to spoil.
std::map<std::string, Tensor> write_good(const fs::path& dir) {
  Generator gen(0);
  GPT model(one_layer_config(), gen);
  save_gpt(model, dir.string());
  return load_safetensors((dir / "model.safetensors").string());
}

void rewrite(const fs::path& dir, const std::map<std::string, Tensor>& tensors) {
  save_safetensors((dir / "model.safetensors").string(), NamedTensors(tensors.begin(), tensors.end()));
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("parse_gpt_config names the source and the field of every bad value") {
  auto bad = [](const std::string& text) { return [text] { parse_gpt_config(text, "cfg.json"); }; };
  CHECK_THROWS_WITH(bad("{\"n_embd\": 64,")(), Contains("cfg.json: not valid JSON"));
  CHECK_THROWS_WITH(bad("[1, 2]")(), Contains("cfg.json: a config.json must be a JSON object"));
  CHECK_THROWS_WITH(bad(R"({"n_embd": 30, "n_head": 4})")(), Contains("n_embd (30) must be a multiple of n_head (4)"));
  CHECK_THROWS_WITH(bad(R"({"n_layer": "4"})")(), Contains("cfg.json: n_layer must be an integer"));
  CHECK_THROWS_WITH(bad(R"({"n_embd": 64.0})")(), Contains("n_embd must be an integer"));
  CHECK_THROWS_WITH(bad(R"({"vocab_size": -3})")(), Contains("vocab_size must be a positive integer"));
  CHECK_THROWS_WITH(bad(R"({"vocab_size": 99999999999})")(), Contains("vocab_size must be an integer of at most 2147483647"));
  CHECK_THROWS_WITH(bad(R"({"n_positions": 0})")(), Contains("n_positions must be a positive integer"));
  CHECK_THROWS_WITH(bad(R"({"n_inner": 0})")(), Contains("n_inner must be a positive integer or null"));
  CHECK_THROWS_WITH(bad(R"({"attn_pdrop": 1.0})")(), Contains("attn_pdrop must be in [0, 1), got 1"));
  CHECK_THROWS_WITH(bad(R"({"resid_pdrop": "0.1"})")(), Contains("resid_pdrop must be a number"));
  CHECK_THROWS_WITH(bad(R"({"layer_norm_epsilon": 0})")(), Contains("layer_norm_epsilon must be positive"));
  CHECK_THROWS_WITH(bad(R"({"activation_function": "relu"})")(), Contains("activation_function 'relu' is not supported"));
  CHECK_THROWS_WITH(bad(R"({"model_type": "llama"})")(), Contains("model_type is \"llama\", not \"gpt2\""));
  CHECK_THROWS_WITH(bad(R"({"n_embd": 64, "hidden_size": 32})")(), Contains("both n_embd and its alias hidden_size are set"));
  CHECK_THROWS_WITH(bad(R"({"scale_attn_by_inverse_layer_idx": true})")(), Contains("scale_attn_by_inverse_layer_idx = true is not supported"));
  CHECK_NOTHROW(parse_gpt_config(R"({"n_embd": 64, "hidden_size": 64, "n_head": 4, "reorder_and_upcast_attn": true})", "cfg.json"));
  GPTConfig c = one_layer_config();
  c.n_head = 3;
  CHECK_THROWS_WITH(c.validate("here"), Contains("here: n_embd (16) must be a multiple of n_head (3)"));
}

TEST_CASE("load_gpt names the missing folder or file, and bad JSON") {
  ErrorsTempDir dir;
  CHECK_THROWS_WITH(load_gpt((dir.path / "nope").string()), Contains("nope is not a folder"));
  fs::create_directories(dir.path);
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("config.json: no such file"));
  CHECK_THROWS_WITH(load_gpt_config(dir.path.string()), Contains("is a folder, not a config.json"));
  write_text(dir.path / "config.json", "{\"n_embd\": ");
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("config.json: not valid JSON"));
  write_text(dir.path / "config.json", gpt_config_json(one_layer_config()));
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("model.safetensors: no such file"));
}

TEST_CASE("load_gpt: a transposed Conv1D weight gets a HINT, other wrong shapes name both shapes") {
  ErrorsTempDir dir;
  auto t = write_good(dir.path);
  auto good = t;
  t["transformer.h.0.attn.c_attn.weight"] = t["transformer.h.0.attn.c_attn.weight"].t();
  rewrite(dir.path, t);
  CHECK_THROWS_WITH(load_gpt(dir.path.string()),
                    Contains("expected transformer.h.0.attn.c_attn.weight of shape [16, 48], found [48, 16]") &&
                        Contains("HINT: GPT-2 checkpoints store Conv1D weights (c_attn, c_proj, c_fc) as [in, out]"));
  t = good;
  t["transformer.wpe.weight"] = zeros({9, 16});
  rewrite(dir.path, t);
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("expected transformer.wpe.weight of shape [8, 16], found [9, 16]") &&
                                                    Contains("another size"));
  t = good;
  t["lm_head.weight"] = zeros({16, 50});
  rewrite(dir.path, t);
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("expected lm_head.weight of shape [50, 16] (tied to wte.weight), found [16, 50]"));
  t = good;
  t["transformer.ln_f.bias"] = zeros({16}, DType::i32);
  rewrite(dir.path, t);
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("transformer.ln_f.bias has dtype i32"));
}

TEST_CASE("load_gpt lists missing and unexpected tensors by name") {
  ErrorsTempDir dir;
  auto t = write_good(dir.path);
  auto good = t;
  t.erase("transformer.ln_f.bias");
  t.erase("transformer.h.0.mlp.c_fc.weight");
  t["transformer.h.0.attn.q_proj.weight"] = zeros({16, 16});
  rewrite(dir.path, t);
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("2 missing tensor(s): h.0.mlp.c_fc.weight, ln_f.bias") &&
                                                    Contains("1 unexpected tensor(s): transformer.h.0.attn.q_proj.weight"));
  t = good;
  t["h.0.ln_1.weight"] = t["transformer.h.0.ln_1.weight"];
  rewrite(dir.path, t);
  CHECK_THROWS_WITH(load_gpt(dir.path.string()), Contains("h.0.ln_1.weight appears twice"));
}

TEST_CASE("load_gpt accepts bf16 weights, a tied lm_head.weight and the mask buffers") {
  ErrorsTempDir dir;
  auto t = write_good(dir.path);
  Tensor w = t["transformer.h.0.mlp.c_proj.weight"];
  t["transformer.h.0.mlp.c_proj.weight"] = w.to(DType::bf16);
  t["lm_head.weight"] = t["transformer.wte.weight"];
  t["transformer.h.0.attn.bias"] = ones({1, 1, 8, 8});
  t["transformer.h.0.attn.masked_bias"] = scalar(-1e4);
  rewrite(dir.path, t);
  auto model = load_gpt(dir.path.string());
  CHECK(model->parameter("h.0.mlp.c_proj.weight").dtype() == DType::f32);
  CHECK(model->parameter("h.0.mlp.c_proj.weight").to_vector<float>() == w.to(DType::bf16).t().to_vector<float>());
}

TEST_CASE("GPT refuses bad token ids and contexts past n_positions") {
  Generator gen(1);
  GPT model(one_layer_config(), gen);
  CHECK_THROWS_WITH(model.forward(from_vector<int64_t>({3, 50, 1}, {1, 3})),
                    Contains("token id 50 at [0, 1] is outside the vocabulary [0, 50)"));
  CHECK_THROWS_WITH(model.forward(from_vector<int64_t>({3, 1, -1}, {1, 3})), Contains("token id -1 at [0, 2]"));
  CHECK_THROWS_WITH(model.forward(zeros({1, 9}, DType::i64)), Contains("has T = 9, the model's context is 1 to 8 tokens"));
  CHECK_THROWS_WITH(model.forward(zeros({1, 3})), Contains("dtype f32"));
  CHECK_THROWS_WITH(model.forward(zeros({3}, DType::i64)), Contains("shape [3]"));
  CHECK_THROWS_WITH(model.loss(zeros({1, 3}, DType::i64), zeros({1, 4}, DType::i64)), Contains("targets of shape [1, 4]"));
  CHECK_THROWS_WITH(generate(model, {}, 3, {}), Contains("the prompt is empty"));
  CHECK_THROWS_WITH(generate(model, {1}, 3, {-1.0, 0, 0}), Contains("temperature must be >= 0"));
  CHECK_THROWS_WITH(generate(model, {1, 60}, 3, {}), Contains("token id 60"));
  CHECK_THROWS_WITH(GPT(GPTConfig{.n_embd = 10, .n_head = 4}, gen), Contains("n_embd (10) must be a multiple of n_head (4)"));
}

TEST_CASE("save_gpt refuses a model whose layers were replaced") {
  struct Wrapped : UnaryModule {  // as LoRA wraps a Linear: its weight moves to another name
    explicit Wrapped(Generator& gen) { register_module("base_layer", std::make_shared<Linear>(16, 48, gen)); }
    Tensor forward(const Tensor& x) override { return child_as<UnaryModule>("base_layer").forward(x); }
  };
  Generator gen(2);
  GPT model(one_layer_config(), gen);
  model.child("h")->child("0")->child("attn")->replace_module("c_attn", std::make_shared<Wrapped>(gen));
  ErrorsTempDir dir;
  CHECK_THROWS_WITH(save_gpt(model, dir.path.string()), Contains("no parameter h.0.attn.c_attn.weight") && Contains("merge"));
}
