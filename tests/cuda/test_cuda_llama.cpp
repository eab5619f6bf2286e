// The LLaMA of nn/llama.h on the GPU against the same model on the CPU: the bf16 sharded fixture,
// quantized to NF4 and wrapped with LoRA as `loralab train --qlora` does (one QLoRA step: loss,
// the gradients of A and B, the adapter after AdamW), and greedy generation with the KV cache.
// Every op of RMSNorm, rotary embeddings, grouped-query attention over broadcast kv heads, SiLU and
// the cache's in-place copies then runs on the GPU. Run only where a GPU is present (gpu-check.sh).
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "nn/llama_checkpoint.h"
#include "nn/lora.h"
#include "nn/sample.h"
#include "optim/adamw.h"
#include "quant/nf4_checkpoint.h"
#include "tensor/all.h"

#include <cmath>
#include <string>
#include <vector>

using namespace lab;

namespace {

struct Step {
  double loss = 0;
  std::vector<std::pair<std::string, std::vector<float>>> grads, after;  // LoRA parameters, on the CPU
};

Step qlora_step(Device device) {
  auto model = nn::load_llama(LAB_TEST_DATA_DIR "/reference/llama_tiny_bf16", device);
  quant::quantize_for_qlora(*model);
  nn::LoraConfig lc;
  lc.target_modules = model->default_lora_targets();
  Generator gen(3);
  nn::inject_lora(*model, lc, gen);
  model->name_parameters();
  // B starts at 0: give it values so that A's gradient is not 0 either
  for (auto& [name, p] : model->named_parameters())
    if (name.find("lora_B") != std::string::npos) p.copy_(mul(randn(p.shape(), gen), 0.02));
  std::vector<int64_t> ids(2 * 16), targets(2 * 16);
  for (size_t i = 0; i < ids.size(); i++) ids[i] = int64_t(i * 37 % 256), targets[i] = int64_t(i * 91 % 256);
  Tensor loss = model->loss(from_vector(ids, {2, 16}, device), from_vector(targets, {2, 16}, device));
  ag::backward(loss);
  Step s;
  s.loss = loss.item<double>();
  for (auto& [name, p] : model->named_parameters())
    if (p.autograd_meta() && ag::grad(p).defined()) s.grads.push_back({name, ag::grad(p).to_vector<float>()});
  AdamW opt(model->parameters(), {1e-2, 0.9, 0.999, 1e-8, 0.0});
  opt.step();
  for (auto& [name, p] : model->named_parameters())
    if (name.find("lora_") != std::string::npos) s.after.push_back({name, p.to_vector<float>()});
  return s;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); i++) d = std::max(d, double(std::fabs(a[i] - b[i]))), scale = std::max(scale, double(std::fabs(b[i])));
  return d / scale;
}

}  // namespace

TEST_CASE("a QLoRA step of the fixture LLaMA runs on the GPU as on the CPU") {
  const Step cpu = qlora_step(Device::cpu()), gpu = qlora_step(Device::cuda(0));
  CHECK(gpu.loss == Approx(cpu.loss).epsilon(1e-4));
  REQUIRE(gpu.grads.size() == cpu.grads.size());
  REQUIRE(cpu.grads.size() == 8);  // A and B of q_proj and v_proj in 2 layers: nothing else trains
  for (size_t i = 0; i < cpu.grads.size(); i++) {
    INFO(cpu.grads[i].first);
    CHECK(gpu.grads[i].first == cpu.grads[i].first);
    CHECK(max_diff(gpu.grads[i].second, cpu.grads[i].second) < 1e-3);
  }
  for (size_t i = 0; i < cpu.after.size(); i++) {
    INFO(cpu.after[i].first);
    CHECK(max_diff(gpu.after[i].second, cpu.after[i].second) < 1e-3);
  }
}

TEST_CASE("greedy generation with a KV cache on the GPU gives the CPU's tokens") {
  auto cpu = nn::load_llama(LAB_TEST_DATA_DIR "/reference/llama_tiny", Device::cpu());
  auto gpu = nn::load_llama(LAB_TEST_DATA_DIR "/reference/llama_tiny", Device::cuda(0));
  nn::SampleOptions o;
  o.temperature = 0;
  const std::vector<int64_t> prompt = {5, 17, 99};
  CHECK(nn::generate(*gpu, prompt, 70, o) == nn::generate(*cpu, prompt, 70, o));
}
