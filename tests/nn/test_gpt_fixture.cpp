// nn::GPT against Hugging Face transformers' GPT2LMHeadModel: the same checkpoint (both layouts)
// and batch give the same logits, loss, gradient of every parameter, and 3 AdamW steps.
//
// Fixtures: tests/data/reference/gpt2_tiny{,_hub}/ and gpt2_tiny_expected.safetensors, written by
// tests/reference/make_gpt2_fixture.py (torch 2.15, transformers 4.46.3); this test needs no Python.
// Tolerances, as max |ours - torch| / max |torch| over each tensor: logits and losses 1e-5, each
// gradient 1e-4 (measured worst: 4.9e-7, 2026-11-28, x86-64). The parameters after 3 AdamW steps get
// 1e-3: Adam divides each gradient element by its own RMS, so an element near zero moves by up to lr
// whatever the rounding decided; torch itself in f32 against torch in f64 differs by 6.2e-5 there
// (ours against the fixture: 5.8e-5). Real mistakes are far larger (measured in torch): weight decay
// 0.01 instead of 0.1 moves those parameters by 1.4e-2; unscaled attention scores move the logits
// by 1.7e-3 and the gradients by 9.6e-2.
// The test prints the worst ratio of each kind.
#include <catch2/catch.hpp>

#include "relative_diff.h"

#include "autograd/autograd.h"
#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "optim/adamw.h"
#include "tensor/all.h"
#include "tensor/safetensors.h"

#include <cmath>
#include <cstring>

using namespace lab;

namespace {

const std::string kDir = LAB_TEST_DATA_DIR "/reference/";
double worst_forward = 0, worst_grad = 0, worst_adamw = 0;

// max |ours - torch| <= tol * max |torch| over the tensor
void check_close(const std::string& what, const Tensor& ours, const Tensor& torch, double tol, double& worst) {
  REQUIRE(ours.shape() == torch.shape());
  const auto [diff, scale, ratio] = relative_diff(ours, torch);
  worst = std::max(worst, ratio);
  INFO(fmt::format("{}: max |ours - torch| = {:.3g}, max |torch| = {:.3g}, ratio {:.3g}", what, diff, scale, ratio));
  CHECK(ratio <= tol);
}

bool conv1d(const std::string& name) {
  for (const char* s : {"attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"})
    if (name.size() >= std::strlen(s) && name.compare(name.size() - std::strlen(s), std::strlen(s), s) == 0) return true;
  return false;
}

// The fixture's tensor for one of our parameters: HF's name, Conv1D weights transposed to [out, in].
Tensor torch_value(const std::map<std::string, Tensor>& t, const std::string& prefix, const std::string& name) {
  const Tensor& v = t.at(prefix + "transformer." + name);
  return conv1d(name) ? v.t() : v;
}

}  // namespace

TEST_CASE("GPT-2 in both Hugging Face layouts loads to the same parameters") {
  auto a = nn::load_gpt(kDir + "gpt2_tiny");
  auto b = nn::load_gpt(kDir + "gpt2_tiny_hub");
  CHECK(a->config() == b->config());
  CHECK(a->config().n_layer == 2);
  CHECK(a->config().vocab_size == 256);
  for (const auto& [name, p] : a->named_parameters()) {
    INFO(name);
    CHECK(p.to_vector<float>() == b->parameter(name).to_vector<float>());
  }
}

TEST_CASE("GPT-2 matches transformers: logits, loss, every gradient, 3 AdamW steps") {
  SafetensorsFile fixture = SafetensorsFile::open(kDir + "gpt2_tiny_expected.safetensors");
  std::map<std::string, Tensor> t = fixture.load_all();
  const auto& meta = fixture.metadata();
  auto model = nn::load_gpt(kDir + "gpt2_tiny");
  CHECK(model->num_parameters() == std::stoll(meta.at("num_parameters")));

  const Tensor& ids = t.at("ids");
  const Tensor& targets = t.at("targets");
  check_close("logits", model->forward(ids), t.at("logits"), 1e-5, worst_forward);
  Tensor loss = model->loss(ids, targets);
  check_close("loss", loss, t.at("loss"), 1e-5, worst_forward);

  ag::backward(loss);
  // HF's transformer.wte.weight gradient has both parts, the embedding lookup and the tied LM head: ours too
  for (const auto& [name, p] : model->named_parameters())
    check_close("grad." + name, ag::grad(p), torch_value(t, "grad.", name), 1e-4, worst_grad);

  AdamWOptions o;
  o.lr = std::stod(meta.at("lr"));
  o.beta1 = std::stod(meta.at("beta1"));
  o.beta2 = std::stod(meta.at("beta2"));
  o.eps = std::stod(meta.at("eps"));
  o.weight_decay = std::stod(meta.at("weight_decay"));  // on every parameter, as the script's one group
  AdamW opt(model->parameters(), o);
  const int steps = std::stoi(meta.at("steps"));
  for (int s = 1; s <= steps; s++) {  // the first step uses the gradients above, as the script does
    opt.step();
    opt.zero_grad();
    Tensor l = model->loss(ids, targets);
    ag::backward(l);
    check_close(fmt::format("adamw.loss{}", s), l, t.at(fmt::format("adamw.loss{}", s)), 1e-5, worst_forward);
  }
  const std::string prefix = fmt::format("step{}.", steps);
  for (const auto& [name, p] : model->named_parameters()) check_close(prefix + name, p, torch_value(t, prefix, name), 1e-3, worst_adamw);
  WARN(fmt::format("worst max|ours - torch| / max|torch|: logits and losses {:.2g}, gradients {:.2g}, parameters after AdamW {:.2g}",
                   worst_forward, worst_grad, worst_adamw));
}
