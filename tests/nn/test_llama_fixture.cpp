// nn::Llama and load_llama against Hugging Face transformers' LlamaForCausalLM: the same sharded
// checkpoint and batch give the same logits, loss, a few gradients and greedy continuations.
//
// Fixtures: tests/data/reference/llama_tiny{,_bf16}/ and llama_tiny_expected.safetensors, written by
// tests/reference/make_llama_fixture.py (torch 2.15, transformers 4.46.3); this test needs no Python.
// llama_tiny is f32 with an untied head in 3 shards; llama_tiny_bf16 is bf16 with a tied head in 2
// shards, compared with torch's logits from the same bf16 weights upcast to f32. Tolerances, as
// max |ours - torch| / max |torch| over each tensor: logits and losses 1e-4 (the bar), gradients 1e-4.
// The test prints the worst ratio of each kind.
#include <catch2/catch.hpp>

#include "relative_diff.h"

#include "autograd/autograd.h"
#include "nn/causal_lm.h"
#include "nn/llama_checkpoint.h"
#include "nn/sample.h"
#include "tensor/all.h"
#include "tensor/safetensors.h"

using namespace lab;

namespace {

const std::string kDir = LAB_TEST_DATA_DIR "/reference/";

double check_close(const std::string& what, const Tensor& ours, const Tensor& torch, double tol) {
  REQUIRE(ours.shape() == torch.shape());
  const RelativeDiff d = relative_diff(ours, torch);
  INFO(fmt::format("{}: max |ours - torch| = {:.3g}, max |torch| = {:.3g}, ratio {:.3g}", what, d.diff, d.scale, d.ratio));
  CHECK(d.ratio <= tol);
  return d.ratio;
}

std::vector<int64_t> greedy(nn::CausalLM& model, const Tensor& prompt, int64_t n, bool kv_cache) {
  nn::SampleOptions o;
  o.temperature = 0;
  o.kv_cache = kv_cache;
  return nn::generate(model, prompt.to_vector<int64_t>(), n, o);
}

}  // namespace

TEST_CASE("LLaMA f32, sharded, untied: logits, loss, gradients and greedy tokens match transformers") {
  SafetensorsFile fixture = SafetensorsFile::open(kDir + "llama_tiny_expected.safetensors");
  std::map<std::string, Tensor> t = fixture.load_all();
  const nn::CheckpointFiles files = nn::checkpoint_files(kDir + "llama_tiny");
  CHECK(files.files.size() == 3);
  auto model = nn::load_llama(kDir + "llama_tiny");
  CHECK(model->config().num_key_value_heads == 2);
  CHECK_FALSE(model->config().tie_word_embeddings);
  CHECK(model->num_parameters() == std::stoll(fixture.metadata().at("f32.num_parameters")));

  double worst = 0;
  worst = std::max(worst, check_close("logits", model->forward(t.at("ids")), t.at("f32.logits"), 1e-4));
  Tensor loss = model->loss(t.at("ids"), t.at("targets"));
  worst = std::max(worst, check_close("loss", loss, t.at("f32.loss"), 1e-4));
  ag::backward(loss);
  double worst_grad = 0;
  for (const auto& [key, value] : t) {
    if (key.rfind("f32.grad.", 0) != 0) continue;
    const std::string name = key.substr(9);
    worst_grad = std::max(worst_grad, check_close(key, ag::grad(model->parameter(name)), value, 1e-4));
  }
  const std::vector<int64_t> want = t.at("f32.greedy").to_vector<int64_t>();
  CHECK(greedy(*model, t.at("greedy.prompt"), int64_t(want.size()), true) == want);
  CHECK(greedy(*model, t.at("greedy.prompt"), int64_t(want.size()), false) == want);
  WARN(fmt::format("llama_tiny: worst max|ours - torch| / max|torch|: logits and loss {:.2g}, gradients {:.2g}", worst, worst_grad));
}

TEST_CASE("LLaMA bf16, sharded, tied: loads as f32 and matches torch on the upcast weights") {
  SafetensorsFile fixture = SafetensorsFile::open(kDir + "llama_tiny_expected.safetensors");
  std::map<std::string, Tensor> t = fixture.load_all();
  SafetensorsFile shard = SafetensorsFile::open(kDir + "llama_tiny_bf16/model-00001-of-00002.safetensors");
  CHECK(shard.entries().front().dtype == DType::bf16);
  auto model = nn::load_causal_lm(kDir + "llama_tiny_bf16");
  CHECK(model->family() == "llama");
  CHECK_FALSE(model->has_parameter("lm_head.weight"));  // tied: the head is embed_tokens
  for (const auto& [name, p] : model->named_parameters()) CHECK(p.dtype() == DType::f32);
  CHECK(model->num_parameters() == std::stoll(fixture.metadata().at("bf16.num_parameters")));
  double worst = check_close("logits", model->forward(t.at("ids")), t.at("bf16.logits"), 1e-4);
  worst = std::max(worst, check_close("loss", model->loss(t.at("ids"), t.at("targets")), t.at("bf16.loss"), 1e-4));
  const std::vector<int64_t> want = t.at("bf16.greedy").to_vector<int64_t>();
  CHECK(greedy(*model, t.at("greedy.prompt"), int64_t(want.size()), true) == want);
  WARN(fmt::format("llama_tiny_bf16: worst max|ours - torch| / max|torch|: {:.2g}", worst));
}
