// The GPT of nn/gpt.h trained on the GPU against the same model on the CPU: same weights, same
// batch, same dropout masks (drawn on the CPU from the model's generator on both devices). Logits,
// loss, every parameter's gradient and the parameters after 3 AdamW steps must agree within f32
// tolerances. Every op of the forward and backward passes (embedding gather and scatter-add, layer
// norm, batched matmul on transposed views, causal softmax, GELU, split and view copies, broadcast
// add, dropout, cross-entropy, AdamW) runs on the GPU here, so a missing or wrong GPU path shows.
// The op-by-op comparisons are in test_cuda_autograd.cpp; run only where a GPU is present.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "nn/gpt.h"
#include "optim/adamw.h"
#include "tensor/all.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);

// The tiny config cut down: 2 layers, 32 wide, 4 heads, context 16, vocab 256, with every dropout
// on, so the masks are exercised too.
nn::GPTConfig small_config() {
  nn::GPTConfig c = nn::tiny_gpt_config();
  c.n_layer = 2;
  c.n_embd = 32;
  c.n_head = 4;
  c.n_positions = 16;
  c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0.1;
  return c;
}

// What one run records, every tensor copied back to the CPU.
struct Trace {
  Tensor logits;                         // eval mode, before any step  [B, T, V]
  std::vector<double> losses;            // train mode, before steps 1, 2, 3
  std::map<std::string, Tensor> grads;   // of the first loss
  std::map<std::string, Tensor> params;  // after 3 AdamW steps
};

// Builds the model from seed 7 on the CPU, moves it to `device` and trains it 3 steps on (ids, targets).
Trace run(Device device, const Tensor& ids, const Tensor& targets) {
  Generator gen(7);
  nn::GPT model(small_config(), gen);
  model.to(device);
  Trace t;
  model.eval();
  t.logits = model.forward(ids.to(device)).to(Device::cpu());
  model.train();
  AdamWOptions o;
  o.lr = 1e-2;
  o.weight_decay = 0.1;
  // eps above the rounding noise of the gradients: a gradient that is 0 in exact arithmetic (c_attn's
  // key bias: a constant added to a row of scores does not change its softmax) comes out as rounding
  // noise, which Adam with eps = 1e-8 turns into steps of near-random sign. Measured on the CPU, f32
  // against the same run in f64: after 3 steps c_attn.bias differs by 2.2e-5 with eps = 1e-8 and by
  // 1.4e-7 with eps = 1e-6 (every parameter within 3.8e-6).
  o.eps = 1e-6;
  AdamW opt(model.parameters(), o);
  for (int step = 0; step < 3; step++) {
    Tensor loss = model.loss(ids.to(device), targets.to(device));
    t.losses.push_back(loss.item<double>());
    ag::backward(loss);
    if (step == 0)
      for (const auto& [name, p] : model.named_parameters()) t.grads[name] = ag::grad(p).to(Device::cpu());
    opt.step();
    opt.zero_grad();
  }
  for (const auto& [name, p] : model.named_parameters()) t.params[name] = p.to(Device::cpu());
  return t;
}

// max |got - want| <= rtol * max |want| + atol over the whole tensor, both printed on failure.
void require_close(const std::string& what, const Tensor& got, const Tensor& want, double rtol, double atol) {
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < w.size(); i++) {
    REQUIRE(std::isfinite(g[i]));
    diff = std::max(diff, std::abs(g[i] - w[i]));
    scale = std::max(scale, std::abs(w[i]));
  }
  INFO(what << ": max |gpu - cpu| " << diff << ", max |cpu| " << scale << ", allowed " << rtol * scale + atol);
  CHECK(diff <= rtol * scale + atol);
}

}  // namespace

TEST_CASE("the GPT trains on the GPU as on the CPU: logits, loss, every gradient, 3 AdamW steps", "[cuda][gpt]") {
  // A batch of 3 sequences of the full context (16), random tokens, every seventh target ignored.
  const int64_t B = 3, T = 16, V = small_config().vocab_size;
  Generator data(11);
  std::vector<int64_t> id_values(size_t(B * T)), target_values(size_t(B * T));
  for (size_t i = 0; i < id_values.size(); i++) {
    id_values[i] = int64_t(data.next_u32() % uint32_t(V));
    target_values[i] = i % 7 == 3 ? -100 : int64_t(data.next_u32() % uint32_t(V));
  }
  const Tensor ids = from_vector(id_values, {B, T}), targets = from_vector(target_values, {B, T});

  const Trace cpu = run(Device::cpu(), ids, targets);
  const Trace cuda = run(gpu, ids, targets);

  // f32 tolerances, relative to the largest value of each tensor. The two devices add in different
  // orders (blocked CPU matmul against GPU tiles, warp-shuffle sums against sequential ones), so they
  // differ by rounding. The CPU's f32 run against the same run in f64 differs by at most 1.6e-7 (logits),
  // 6.3e-7 (gradients) of the scale and 3.8e-6 absolute (parameters after 3 steps); the bounds below
  // leave a margin of 5x or more over those for two f32 runs that round differently.
  require_close("logits", cuda.logits, cpu.logits, 1e-5, 1e-6);
  REQUIRE(cuda.losses.size() == 3);
  for (size_t s = 0; s < 3; s++) {
    INFO("loss before step " << s + 1 << ": gpu " << cuda.losses[s] << ", cpu " << cpu.losses[s]);
    CHECK(std::abs(cuda.losses[s] - cpu.losses[s]) <= 1e-5 * std::abs(cpu.losses[s]));
  }
  // The loss falls on both devices (the steps did something).
  CHECK(cuda.losses[2] < cuda.losses[0]);
  REQUIRE(cuda.grads.size() == cpu.grads.size());
  for (const auto& [name, g] : cpu.grads) {
    REQUIRE(cuda.grads.count(name) == 1);
    require_close("grad " + name, cuda.grads.at(name), g, 1e-5, 1e-8);
  }
  // After 3 Adam steps of lr 1e-2 a parameter has moved by up to 3e-2; the devices agree to ~2e-5.
  for (const auto& [name, p] : cpu.params) require_close("after 3 steps " + name, cuda.params.at(name), p, 1e-4, 1e-5);
}
