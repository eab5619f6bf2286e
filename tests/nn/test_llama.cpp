// LLaMA (nn/llama*.h, rope.h, rms_norm.h) and the KV cache (kv_cache.h) on both families: HF's names
// and PEFT's adapter keys, config.json reading and its refusals, the shard index, RMSNorm and rotary
// values, causality, save/load round trips, and generation with a cache against generation without.
// The comparison with transformers itself is test_llama_fixture.cpp.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/causal_lm.h"
#include "nn/gpt.h"
#include "nn/llama.h"
#include "nn/llama_checkpoint.h"
#include "nn/lora.h"
#include "nn/lora_io.h"
#include "nn/rms_norm.h"
#include "nn/rope.h"
#include "nn/sample.h"
#include "tensor/all.h"
#include "tensor/safetensors.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace lab;
namespace fs = std::filesystem;

namespace {

const std::string kFixture = LAB_TEST_DATA_DIR "/reference/llama_tiny";

fs::path temp_dir() {
  static int counter = 0;
  fs::path p = fs::temp_directory_path() / fmt::format("loralab_test_llama_{}_{}", getpid(), counter++);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

nn::LlamaConfig small_config() {
  nn::LlamaConfig c;  // 2 layers, 64 wide, 4 heads over 2 kv heads, context 128, vocab 256
  c.max_position_embeddings = 24;
  return c;
}

std::string parse_error(const std::string& json_text) {
  try {
    nn::parse_llama_config(json_text, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string index_error(const std::string& json_text) {
  try {
    nn::parse_shard_index(json_text, "index.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("Llama has HF LlamaForCausalLM's parameter names, shapes and count") {
  Generator gen(0);
  nn::Llama model(small_config(), gen);
  CHECK(model.parameter("model.embed_tokens.weight").shape() == Shape({256, 64}));
  CHECK(model.parameter("model.layers.1.self_attn.q_proj.weight").shape() == Shape({64, 64}));
  CHECK(model.parameter("model.layers.1.self_attn.k_proj.weight").shape() == Shape({32, 64}));  // 2 kv heads of 16
  CHECK(model.parameter("model.layers.1.self_attn.v_proj.weight").shape() == Shape({32, 64}));
  CHECK(model.parameter("model.layers.0.self_attn.o_proj.weight").shape() == Shape({64, 64}));
  CHECK(model.parameter("model.layers.0.mlp.gate_proj.weight").shape() == Shape({128, 64}));
  CHECK(model.parameter("model.layers.0.mlp.down_proj.weight").shape() == Shape({64, 128}));
  CHECK(model.parameter("model.layers.0.input_layernorm.weight").shape() == Shape({64}));
  CHECK(model.parameter("model.norm.weight").shape() == Shape({64}));
  CHECK(model.parameter("lm_head.weight").shape() == Shape({256, 64}));
  CHECK(model.num_parameters() == 106816);  // transformers' num_parameters() for this config (make_llama_fixture.py)
  nn::LlamaConfig tied = small_config();
  tied.tie_word_embeddings = true;
  nn::Llama t(tied, gen);
  CHECK_FALSE(t.has_parameter("lm_head.weight"));
  CHECK(t.num_parameters() == 106816 - 256 * 64);
}

TEST_CASE("RMSNorm and rotary embeddings compute HF's formulas") {
  nn::RMSNorm norm(4, 1e-5);
  norm.parameter("weight").copy_(from_vector<float>({1, 2, 3, 4}, {4}));
  std::vector<float> x = {1, -2, 3, 0.5f};
  const double ms = (1 + 4 + 9 + 0.25) / 4.0, r = 1.0 / std::sqrt(ms + 1e-5);
  std::vector<float> y = norm.forward(from_vector(x, {1, 4})).to_vector<float>();
  for (int i = 0; i < 4; i++) CHECK(y[size_t(i)] == Approx(x[size_t(i)] * r * (i + 1)).epsilon(1e-6));

  // position 0 rotates nothing; position p rotates the pair (i, i + hd/2) by p * theta^(-2i/hd)
  Tensor v = from_vector<float>({1, 2, 3, 4}, {1, 4});
  CHECK(nn::apply_rotary(v, nn::rotary_tables(0, 1, 4, 100.0)).to_vector<float>() == v.to_vector<float>());
  std::vector<float> rot = nn::apply_rotary(v, nn::rotary_tables(3, 1, 4, 100.0)).to_vector<float>();
  const double a0 = 3.0, a1 = 3.0 / 10.0;  // inv_freq = 1, 100^(-1/2)
  CHECK(rot[0] == Approx(1 * std::cos(a0) - 3 * std::sin(a0)).margin(1e-6));
  CHECK(rot[2] == Approx(3 * std::cos(a0) + 1 * std::sin(a0)).margin(1e-6));
  CHECK(rot[1] == Approx(2 * std::cos(a1) - 4 * std::sin(a1)).margin(1e-6));
  CHECK(rot[3] == Approx(4 * std::cos(a1) + 2 * std::sin(a1)).margin(1e-6));
}

TEST_CASE("Llama is causal: changing token t changes no logits before t") {
  Generator gen(3);
  nn::Llama model(small_config(), gen);
  std::vector<int64_t> ids = {5, 9, 200, 7, 1, 42, 77, 3};
  std::vector<float> a = model.forward(from_vector(ids, {1, 8})).to_vector<float>();
  ids[5] = 100;
  std::vector<float> b = model.forward(from_vector(ids, {1, 8})).to_vector<float>();
  CHECK(std::vector<float>(a.begin(), a.begin() + 5 * 256) == std::vector<float>(b.begin(), b.begin() + 5 * 256));
  CHECK(std::vector<float>(a.begin() + 5 * 256, a.end()) != std::vector<float>(b.begin() + 5 * 256, b.end()));
}

TEST_CASE("config.json: the fixture's fields, a round trip, and a clear error for each unsupported feature") {
  const nn::LlamaConfig c = nn::load_llama_config(kFixture + "/config.json");
  CHECK(c.hidden_size == 64);
  CHECK(c.num_key_value_heads == 2);
  CHECK(c.hd() == 16);
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.max_position_embeddings == 64);
  CHECK(nn::parse_llama_config(nn::llama_config_json(c), "ours") == c);
  CHECK(nn::parse_llama_config(R"({"model_type": "llama", "num_attention_heads": 8, "hidden_size": 64})", "x").num_key_value_heads == 8);

  CHECK_THAT(parse_error(R"({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0}})"),
             Catch::Contains("rope_scaling") && Catch::Contains("not supported"));
  CHECK_THAT(parse_error(R"({"model_type": "llama", "attention_bias": true})"), Catch::Contains("attention_bias"));
  CHECK_THAT(parse_error(R"({"model_type": "llama", "mlp_bias": true})"), Catch::Contains("mlp_bias"));
  CHECK_THAT(parse_error(R"({"model_type": "llama", "hidden_act": "gelu"})"), Catch::Contains("hidden_act"));
  CHECK_THAT(parse_error(R"({"model_type": "gpt2"})"), Catch::Contains("model_type"));
  CHECK_THAT(parse_error(R"({"model_type": "llama", "num_attention_heads": 6, "num_key_value_heads": 4, "hidden_size": 96})"),
             Catch::Contains("multiple of num_key_value_heads"));
  CHECK_THAT(parse_error(R"({"model_type": "llama", "hidden_size": 4096, "head_dim": 7})"), Catch::Contains("even"));
  CHECK_THAT(parse_error(R"({"model_type": "llama", "vocab_size": -3})"), Catch::Contains("vocab_size"));
  CHECK_THAT(parse_error(R"({"model_type": "llama", "rope_theta": "big"})"), Catch::Contains("rope_theta"));
  CHECK_THAT(parse_error("{"), Catch::Contains("not valid JSON"));
}

TEST_CASE("the shard index: what save_pretrained writes reads, and bad ones are refused by name") {
  const nn::ShardIndex i = nn::parse_shard_index(read_text(kFixture + "/model.safetensors.index.json"), "index");
  CHECK(i.shards.size() == 3);
  CHECK(i.weight_map.at("lm_head.weight") == "model-00003-of-00003.safetensors");
  CHECK(i.total_size == 427264u);
  CHECK_THAT(index_error(R"({"weight_map": {"a": "../evil.safetensors"}})"), Catch::Contains("not a shard file name"));
  CHECK_THAT(index_error(R"({"weight_map": {"a": "model.bin"}})"), Catch::Contains("not a shard file name"));
  CHECK_THAT(index_error(R"({"weight_map": {"a": 3}})"), Catch::Contains("must be a shard file name"));
  CHECK_THAT(index_error(R"({"metadata": {"total_size": -1}, "weight_map": {"a": "m.safetensors"}})"), Catch::Contains("total_size"));
  CHECK_THAT(index_error(R"({"weight_map": {}})"), Catch::Contains("empty"));
  CHECK_THAT(index_error(R"([])"), Catch::Contains("weight_map"));

  // a folder whose index names a shard that is not there, and one whose index puts a tensor in the wrong shard
  fs::path dir = temp_dir();
  for (const auto& e : fs::directory_iterator(kFixture)) fs::copy(e.path(), dir / e.path().filename());
  fs::remove(dir / "model-00002-of-00003.safetensors");
  CHECK_THROWS_WITH(nn::load_llama(dir.string()), Catch::Contains("model-00002-of-00003.safetensors") && Catch::Contains("not in the folder"));
  fs::copy(fs::path(kFixture) / "model-00002-of-00003.safetensors", dir / "model-00002-of-00003.safetensors");
  const std::string original = read_text(dir / "model.safetensors.index.json");
  auto move_in_index = [&](const std::string& from, const std::string& to) {
    std::string text = original;
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
    write_text(dir / "model.safetensors.index.json", text);
  };
  move_in_index(R"("model.embed_tokens.weight": "model-00001-of-00003.safetensors")",
                R"("model.embed_tokens.weight": "model-00002-of-00003.safetensors")");
  CHECK_THROWS_WITH(nn::load_llama(dir.string()), Catch::Contains("model.embed_tokens.weight") && Catch::Contains("the index puts it in"));
  // lm_head is shard 3's only tensor: an index that puts it in shard 1 leaves shard 3 unread
  move_in_index(R"("lm_head.weight": "model-00003-of-00003.safetensors")", R"("lm_head.weight": "model-00001-of-00003.safetensors")");
  CHECK_THROWS_WITH(nn::load_llama(dir.string()), Catch::Contains("lm_head.weight") && Catch::Contains("does not hold it"));
  fs::remove_all(dir);
}

TEST_CASE("save_llama then load_llama gives the same model, and a missing lm_head is named") {
  Generator gen(5);
  nn::Llama model(small_config(), gen);
  fs::path dir = temp_dir();
  nn::save_llama(model, dir.string());
  auto back = nn::load_causal_lm(dir.string());
  REQUIRE(back->family() == "llama");
  for (const auto& [name, p] : model.named_parameters()) CHECK(p.to_vector<float>() == back->parameter(name).to_vector<float>());
  // drop lm_head from the file: an untied config then misses it, by name
  std::map<std::string, Tensor> all = load_safetensors((dir / "model.safetensors").string());
  all.erase("lm_head.weight");
  NamedTensors kept(all.begin(), all.end());
  save_safetensors((dir / "model.safetensors").string(), kept);
  CHECK_THROWS_WITH(nn::load_llama(dir.string()), Catch::Contains("lm_head.weight") && Catch::Contains("tie_word_embeddings"));
  fs::remove_all(dir);
}

TEST_CASE("LoRA on a Llama: PEFT's default q_proj and v_proj, and PEFT's adapter keys") {
  Generator gen(7);
  nn::Llama model(small_config(), gen);
  nn::LoraConfig lc;
  lc.target_modules = model.default_lora_targets();
  lc.r = 4;
  nn::InjectReport r = nn::inject_lora(model, lc, gen);
  CHECK(r.wrapped == std::vector<std::string>{"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                              "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"});
  CHECK(model.num_parameters(true) == 2 * (4 * 64 + 64 * 4) + 2 * (4 * 64 + 32 * 4));
  fs::path dir = temp_dir();
  nn::AdapterConfig ac;
  ac.lora = lc;
  ac.fan_in_fan_out = false;
  nn::save_adapter(model, ac, dir.string());
  SafetensorsFile f = SafetensorsFile::open((dir / "adapter_model.safetensors").string());
  CHECK(f.has("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  CHECK(f.has("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"));
  CHECK(f.entries().size() == 8);
  fs::remove_all(dir);
}

TEST_CASE("a KV cache gives the logits of the whole window, one new token at a time") {
  Generator gen(11);
  nn::Llama llama(small_config(), gen);
  nn::GPTConfig gc;
  gc.n_positions = 24, gc.n_layer = 2, gc.n_embd = 32, gc.n_head = 4;
  nn::GPT gpt(gc, gen);
  for (nn::CausalLM* model : std::vector<nn::CausalLM*>{&llama, &gpt}) {
    INFO(model->family());
    model->eval();
    ag::NoGradGuard no_grad;
    std::vector<int64_t> ids = {4, 8, 15, 16, 23, 42, 108, 7, 99, 1};
    std::vector<float> full = model->forward(from_vector(ids, {1, 10})).to_vector<float>();
    nn::KVCache cache = model->make_kv_cache(1);
    Tensor prefill = model->forward(from_vector(std::vector<int64_t>(ids.begin(), ids.begin() + 6), {1, 6}), cache);
    CHECK(cache.length() == 6);
    std::vector<float> got = prefill.to_vector<float>();
    for (size_t t = 6; t < ids.size(); t++) {
      Tensor step = model->forward(from_vector(std::vector<int64_t>{ids[t]}, {1, 1}), cache);
      CHECK(step.shape() == Shape({1, 1, 256}));  // one token in, one row of logits out: the window is not re-read
      std::vector<float> row = step.to_vector<float>();
      got.insert(got.end(), row.begin(), row.end());
    }
    CHECK(cache.length() == 10);
    REQUIRE(got.size() == full.size());
    double diff = 0;
    for (size_t i = 0; i < got.size(); i++) diff = std::max(diff, double(std::fabs(got[i] - full[i])));
    CHECK(diff < 1e-4);
    CHECK_THROWS_WITH(model->forward(from_vector(std::vector<int64_t>(15, 1), {1, 15}), cache), Catch::Contains("context"));
  }
  nn::KVCache cache = llama.make_kv_cache(1);
  CHECK_THROWS_WITH(llama.forward(from_vector(std::vector<int64_t>{1}, {1, 1}), cache), Catch::Contains("NoGradGuard"));
}

TEST_CASE("generate with a KV cache matches generate without it, token for token, for GPT and LLaMA") {
  Generator gen(13);
  nn::Llama llama(small_config(), gen);
  nn::GPTConfig gc;
  gc.n_positions = 24, gc.n_layer = 2, gc.n_embd = 32, gc.n_head = 4;
  nn::GPT gpt(gc, gen);
  for (nn::CausalLM* model : std::vector<nn::CausalLM*>{&llama, &gpt}) {
    INFO(model->family());
    // 40 new tokens pass the context of 24: the window slides and the cache starts over
    for (double temperature : {0.0, 1.0}) {
      INFO("temperature " << temperature);
      nn::SampleOptions with, without;
      with.temperature = without.temperature = temperature;
      with.seed = without.seed = 42;
      without.kv_cache = false;
      const std::vector<int64_t> prompt = {10, 20, 30};
      std::vector<int64_t> a = nn::generate(*model, prompt, 40, with), b = nn::generate(*model, prompt, 40, without);
      CHECK(a.size() == 40);
      CHECK(a == b);
    }
    CHECK(model->is_training());  // the mode is restored
  }
}
