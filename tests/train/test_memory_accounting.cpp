// train/memory_accounting.h against what is known and what is measured: parameter counts of our
// GPT and of LLaMA-7B/65B (Meta's published 6,738,415,616 and 65,285,660,672), the activation formula
// against the allocator during one training step of a tiny GPT, and NF4's bits a weight.
#include "autograd/autograd.h"
#include "nn/gpt.h"
#include "tensor/all.h"
#include "train/memory_accounting.h"

#include <catch2/catch.hpp>

using namespace lab;

TEST_CASE("parameter counts from shapes: our GPT, LLaMA-7B and LLaMA-65B") {
  nn::GPTConfig c;
  c.n_layer = 3, c.n_embd = 48, c.n_head = 4, c.n_positions = 40;
  Generator gen(0);
  nn::GPT model(c, gen);
  const train::TransformerShape s = train::shape_of(c);
  CHECK(train::total_parameters(s) == model.num_parameters());
  int64_t linear = 0;
  for (auto& [name, p] : model.named_parameters())
    if (p.dim() == 2 && name.rfind("h.", 0) == 0) linear += p.numel();  // h.N.*.weight [out, in]
  CHECK(train::linear_parameters(s) == linear);
  CHECK(train::total_parameters(train::llama_7b()) == 6738415616);
  CHECK(train::total_parameters(train::llama_65b()) == 65285660672);
  CHECK(train::nf4_bits(64, true) == Approx(4.127).epsilon(1e-3));
  CHECK(train::nf4_bits(64, false) == Approx(4.5));
}

TEST_CASE("the activation formula against the allocator during one step of a tiny GPT") {
  for (auto [L, C, H, B, T] : std::vector<std::array<int64_t, 5>>{{1, 64, 4, 4, 32}, {2, 64, 8, 3, 48}, {2, 96, 4, 2, 64}}) {
    nn::GPTConfig c;
    c.n_layer = L, c.n_embd = C, c.n_head = H, c.n_positions = T;
    Generator gen(1);
    nn::GPT model(c, gen);
    std::vector<int64_t> v(size_t(B * T));
    for (auto& i : v) i = gen.next_u32() % 256;
    Tensor ids = from_vector(v, {B, T});
    ag::backward(model.loss(ids, ids));  // every gradient allocated once, so the step below measures activations only
    const size_t base = memory_stats(Device::cpu()).current;
    reset_peak_memory(Device::cpu());
    Tensor loss = model.loss(ids, ids);
    const double held = double(memory_stats(Device::cpu()).current - base);
    ag::backward(loss);
    const double peak = double(memory_stats(Device::cpu()).peak - base);
    const train::TransformerShape s = train::shape_of(c);
    const double formula = train::activation_bytes(s, B, T, train::loralab_f32());
    const double formula_peak = train::activation_peak_bytes(s, B, T, train::loralab_f32());
    INFO("L " << L << " C " << C << " H " << H << " B " << B << " T " << T << ": held after forward " << held << ", formula " << formula
              << "; peak in backward " << peak << ", formula " << formula_peak);
    // stated margins: 2% for what the forward keeps, 10% for the backward's peak (its transients overlap less than summed)
    CHECK(std::fabs(held - formula) < 0.02 * held);
    CHECK(std::fabs(peak - formula_peak) < 0.10 * peak);
  }
}

TEST_CASE("estimates per recipe: what trains and what is stored") {
  const train::TransformerShape s = train::llama_7b();
  train::FinetuneRecipe full{"full", 16, 16, true};
  full.grad_bits = 16, full.master_bits = 32;
  train::MemoryEstimate f = train::estimate_finetune_memory(s, full, 1, 512, train::korthikanti_16bit(true));
  CHECK(f.trainable == 6738415616);
  CHECK(f.weights + f.grads + f.optimizer == Approx(16.0 * 6738415616));  // 2 + 2 + 4 + 4 + 4 bytes a parameter
  train::FinetuneRecipe lora{"lora", 16, 16, false, {"q_proj", "v_proj"}, 8};
  train::MemoryEstimate l = train::estimate_finetune_memory(s, lora, 1, 512, train::korthikanti_16bit(true));
  CHECK(l.trainable == 32 * 2 * 8 * (4096 + 4096));  // 4,194,304 as PEFT prints for LLaMA-7B, r 8 on q and v
  train::FinetuneRecipe qlora = lora;
  qlora.linear_bits = train::nf4_bits();
  train::MemoryEstimate q = train::estimate_finetune_memory(s, qlora, 1, 512, train::korthikanti_16bit(true));
  CHECK(q.weights < l.weights / 3);
  CHECK(q.activations == l.activations);
  train::FinetuneRecipe none = lora;
  none.lora_targets = {"c_attn"};
  CHECK_THROWS_WITH(train::estimate_finetune_memory(s, none, 1, 512, train::korthikanti_16bit(true)), Catch::Contains("none of"));
}
