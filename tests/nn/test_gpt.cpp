// nn::GPT: parameter names and count, HF's init, causality, dropout and its generator, layers looked
// up by name (LoRA's hook), save_gpt/load_gpt and config.json round trips, generate().
// The numbers against transformers are in test_gpt_fixture.cpp; the error messages in test_gpt_errors.cpp.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "nn/linear.h"
#include "nn/sample.h"
#include "tensor/all.h"
#include "tensor/safetensors.h"

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace lab;
using namespace lab::nn;
namespace fs = std::filesystem;

namespace {

// A folder under the temp dir, removed when the test ends.
struct TempDir {
  fs::path path = fs::temp_directory_path() / fmt::format("loralab_test_gpt_{}_{}", getpid(), counter++);
  ~TempDir() { fs::remove_all(path); }
  static inline int counter = 0;
};

GPTConfig small_config() {  // every size different, so a mixed-up dim shows
  GPTConfig c;
  c.vocab_size = 50, c.n_positions = 8, c.n_embd = 16, c.n_layer = 2, c.n_head = 2, c.n_inner = 24;
  return c;
}

Tensor random_ids(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> v(size_t(B * T));
  for (auto& x : v) x = int64_t(g.next_u32() % uint32_t(V));
  return from_vector(v, {B, T});
}

double std_of(const Tensor& t) {
  double s = 0, s2 = 0;
  std::vector<float> v = t.to_vector<float>();
  for (float x : v) s += x, s2 += double(x) * x;
  double m = s / double(v.size());
  return std::sqrt(s2 / double(v.size()) - m * m);
}

}  // namespace

TEST_CASE("GPT has HF GPT-2's parameter names, shapes and count") {
  Generator gen(0);
  GPTConfig c = small_config();
  GPT model(c, gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : model.named_parameters()) names.push_back(name);
  REQUIRE(names.size() == 2 + 12 * 2 + 2);
  CHECK(names[0] == "wte.weight");
  CHECK(names[1] == "wpe.weight");
  CHECK(std::vector<std::string>(names.begin() + 2, names.begin() + 14) ==
        std::vector<std::string>{"h.0.ln_1.weight", "h.0.ln_1.bias", "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias",
                                 "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias", "h.0.ln_2.weight", "h.0.ln_2.bias",
                                 "h.0.mlp.c_fc.weight", "h.0.mlp.c_fc.bias", "h.0.mlp.c_proj.weight", "h.0.mlp.c_proj.bias"});
  CHECK(names.back() == "ln_f.bias");
  CHECK(model.parameter("h.1.attn.c_attn.weight").shape() == Shape{48, 16});  // Linear: [out, in]
  CHECK(model.parameter("h.1.mlp.c_fc.weight").shape() == Shape{24, 16});
  CHECK(model.parameter("h.1.mlp.c_proj.weight").shape() == Shape{16, 24});
  // V C + P C + L (4C + 3C^2 + 3C + C^2 + C + 2 C I + I + C) + 2C: no lm_head (tied)
  const int64_t V = 50, P = 8, C = 16, I = 24, L = 2;
  CHECK(model.num_parameters() == V * C + P * C + L * (4 * C + 3 * C * C + 3 * C + C * C + C + 2 * C * I + I + C) + 2 * C);

  Tensor logits = model.forward(random_ids(3, 5, V, 1));
  CHECK(logits.shape() == Shape{3, 5, V});
  CHECK(tiny_gpt_config().inner() == 512);
  CHECK(tiny_gpt_config().n_layer == 4);
}

TEST_CASE("GPT starts as HF GPT-2's _init_weights") {
  Generator gen(1);
  GPTConfig c = tiny_gpt_config();
  GPT model(c, gen);
  const double proj = 0.02 / std::sqrt(2.0 * double(c.n_layer));
  CHECK(std_of(model.parameter("wte.weight")) == Approx(0.02).epsilon(0.03));
  CHECK(std_of(model.parameter("h.0.attn.c_attn.weight")) == Approx(0.02).epsilon(0.03));
  CHECK(std_of(model.parameter("h.3.mlp.c_fc.weight")) == Approx(0.02).epsilon(0.03));
  CHECK(std_of(model.parameter("h.0.attn.c_proj.weight")) == Approx(proj).epsilon(0.03));
  CHECK(std_of(model.parameter("h.2.mlp.c_proj.weight")) == Approx(proj).epsilon(0.03));
  for (const char* zero : {"h.0.attn.c_attn.bias", "h.1.mlp.c_proj.bias", "ln_f.bias", "h.3.ln_2.bias"})
    CHECK(model.parameter(zero).to_vector<float>() == std::vector<float>(size_t(model.parameter(zero).numel()), 0.0f));
  for (const char* one : {"h.0.ln_1.weight", "ln_f.weight"})
    CHECK(model.parameter(one).to_vector<float>() == std::vector<float>(size_t(model.parameter(one).numel()), 1.0f));
  Generator again(1);
  GPT twin(c, again);
  CHECK(twin.parameter("h.3.mlp.c_proj.weight").to_vector<float>() == model.parameter("h.3.mlp.c_proj.weight").to_vector<float>());
}

TEST_CASE("GPT is causal: changing token t changes no logits before t") {
  Generator gen(2);
  GPT model(small_config(), gen);
  Tensor ids = random_ids(1, 8, 50, 3);
  std::vector<float> before = model.forward(ids).to_vector<float>();
  Tensor changed = ids.clone();
  changed.at<int64_t>({0, 5}) = (ids.at<int64_t>({0, 5}) + 1) % 50;
  std::vector<float> after = model.forward(changed).to_vector<float>();
  const size_t V = 50;
  for (size_t t = 0; t < 8; t++) {
    bool same = std::equal(before.begin() + t * V, before.begin() + (t + 1) * V, after.begin() + t * V);
    INFO("position " << t);
    CHECK(same == (t < 5));
  }
}

TEST_CASE("GPT dropout draws from dropout_generator and is off in eval mode") {
  GPTConfig c = small_config();
  c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0.2;
  Generator gen(4);
  GPT model(c, gen);
  Tensor ids = random_ids(2, 6, 50, 5);
  model.dropout_generator() = Generator(7);
  std::vector<float> a = model.forward(ids).to_vector<float>();
  std::vector<float> b = model.forward(ids).to_vector<float>();
  model.dropout_generator() = Generator(7);
  CHECK(model.forward(ids).to_vector<float>() == a);  // the same seed, the same masks
  CHECK(a != b);
  model.eval();
  CHECK(model.forward(ids).to_vector<float>() == model.forward(ids).to_vector<float>());
}

TEST_CASE("GPT looks its projections up by name, so a replaced layer is used") {
  Generator gen(6);
  GPT model(small_config(), gen);
  Tensor ids = random_ids(1, 4, 50, 8);
  std::vector<float> before = model.forward(ids).to_vector<float>();
  Module& attn = *model.child("h")->child("0")->child("attn");
  auto replacement = std::make_shared<Linear>(16, 16, gen);
  auto old = attn.replace_module("c_proj", replacement);
  CHECK(model.forward(ids).to_vector<float>() != before);
  attn.replace_module("c_proj", old);
  CHECK(model.forward(ids).to_vector<float>() == before);
}

TEST_CASE("save_gpt then load_gpt gives the same model, in HF's layout") {
  TempDir dir;
  Generator gen(9);
  GPT model(small_config(), gen);
  save_gpt(model, (dir.path / "ckpt").string());
  auto loaded = load_gpt((dir.path / "ckpt").string());
  CHECK(loaded->config() == model.config());
  for (const auto& [name, p] : model.named_parameters()) CHECK(loaded->parameter(name).to_vector<float>() == p.to_vector<float>());
  Tensor ids = random_ids(2, 8, 50, 10);
  CHECK(loaded->forward(ids).to_vector<float>() == model.forward(ids).to_vector<float>());

  SafetensorsFile file = SafetensorsFile::open((dir.path / "ckpt" / "model.safetensors").string());
  CHECK(file.names().size() == model.named_parameters().size());
  CHECK(file.info("transformer.h.1.mlp.c_fc.weight").shape == Shape{16, 24});  // Conv1D: [in, out]
  CHECK(file.info("transformer.h.0.attn.c_attn.weight").shape == Shape{16, 48});
  CHECK(file.metadata().at("format") == "pt");
  CHECK(load_gpt_config((dir.path / "ckpt" / "config.json").string()) == model.config());
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir.path / "ckpt")) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"config.json", "model.safetensors"});  // no temporary left behind
}

TEST_CASE("config.json round trips and reads what transformers writes") {
  GPTConfig c = small_config();
  c.attn_pdrop = 0.1, c.layer_norm_epsilon = 1e-6, c.initializer_range = 0.05;
  std::string text = gpt_config_json(c);
  CHECK(parse_gpt_config(text, "ours") == c);
  CHECK(text.find("\"model_type\": \"gpt2\"") != std::string::npos);
  CHECK(text.find("\"n_ctx\": 8") != std::string::npos);
  CHECK(text.find("\"GPT2LMHeadModel\"") != std::string::npos);
  c.n_inner = 0;
  CHECK(gpt_config_json(c).find("\"n_inner\": null") != std::string::npos);
  CHECK(parse_gpt_config(gpt_config_json(c), "ours") == c);

  GPTConfig hf = load_gpt_config(LAB_TEST_DATA_DIR "/reference/gpt2_tiny/config.json");
  CHECK(hf.n_embd == 32);
  CHECK(hf.n_positions == 16);
  CHECK(hf.n_inner == 0);
  CHECK(hf.attn_pdrop == 0.0);

  GPTConfig defaults = parse_gpt_config("{}", "empty");  // GPT2Config's defaults: the 124M model
  CHECK(defaults.vocab_size == 50257);
  CHECK(defaults.n_positions == 1024);
  CHECK(defaults.n_embd == 768);
  CHECK(defaults.n_layer == 12);
  CHECK(defaults.resid_pdrop == 0.1);
  GPTConfig aliases = parse_gpt_config(
      R"({"hidden_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4, "max_position_embeddings": 32, "foo": [1]})", "aliases");
  CHECK(aliases.n_embd == 64);
  CHECK(aliases.n_layer == 3);
  CHECK(aliases.n_head == 4);
  CHECK(aliases.n_positions == 32);
}

TEST_CASE("generate is deterministic for a seed, greedy at temperature 0, and top_k 1 is greedy") {
  Generator gen(11);
  GPT model(small_config(), gen);
  const std::vector<int64_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};  // longer than n_positions (8)
  SampleOptions sampled{1.0, 0, 42};
  std::vector<int64_t> a = generate(model, prompt, 20, sampled);
  CHECK(a.size() == 20);
  CHECK(generate(model, prompt, 20, sampled) == a);
  sampled.seed = 43;
  CHECK(generate(model, prompt, 20, sampled) != a);

  std::vector<int64_t> greedy = generate(model, prompt, 6, {0.0, 0, 1});
  std::vector<int64_t> context = prompt;  // the argmax, step by step, by hand
  for (int64_t next : greedy) {
    std::vector<int64_t> window(context.end() - 8, context.end());
    std::vector<float> logits = model.forward(from_vector(window, {1, 8})).select(1, 7).to_vector<float>();
    CHECK(next == int64_t(std::max_element(logits.begin(), logits.end()) - logits.begin()));
    context.push_back(next);
  }
  CHECK(generate(model, prompt, 6, {1.0, 1, 5}) == greedy);
  CHECK(generate(model, prompt, 6, {0.7, 1, 6}) == greedy);

  model.train();
  std::vector<int64_t> stopped = generate(model, prompt, 20, {0.0, 0, 0}, [&](int64_t t) { return t == greedy[2]; });
  const auto first = std::find(greedy.begin(), greedy.end(), greedy[2]);  // stops at its first appearance, included
  CHECK(stopped == std::vector<int64_t>(greedy.begin(), first + 1));
  CHECK(model.is_training());  // the mode is put back
}
