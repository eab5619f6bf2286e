// What LoRA costs in time (issue 8's "Speed"), and lesson 08's LoRA forward kernels, on the CPU.
//
//   step/full            one training step of lesson 04's GPT (tiny_gpt_config) on lesson 05's
//                        batches (16 rows x 112 tokens, train/finetune.h): forward, loss, backward,
//                        AdamW over all 842,496 parameters
//   step/lora_c_attn_r8  the same model with LoRA r = 8 (alpha 8) on every c_attn, all else frozen:
//                        AdamW over A and B only (4 x (8 x 128 + 384 x 8) = 16,384 parameters)
//   step/frozen_base     every parameter frozen but wpe (the position embedding, added to the input):
//                        the loss still backpropagates through every layer to the input, which is the
//                        frozen base's forward + backward alone (plus AdamW on wpe's 16,384 values)
//   lora_fwd/<version>   y = x W^T + s (x A^T) B^T, quant/lora_fused.h's versions with an f32 and an
//                        NF4 base: c_attn's shape over a batch (1792 x 128 -> 384, r 8) and a 1024 layer
// Counters: tokens/s for steps, GFLOP/s (2 M N (K + r) + 2 M K r) for the forwards. Wall time (OpenMP).
// Run: ./lab bench lora (figures in bench/RESULTS.md)
#include <benchmark/benchmark.h>
#include <omp.h>

#include "autograd/autograd.h"
#include "nn/gpt.h"
#include "nn/lora.h"
#include "optim/adamw.h"
#include "quant/lora_fused.h"
#include "quant/nf4.h"
#include "tensor/all.h"

#include <string>
#include <vector>

namespace {

using namespace lab;

constexpr int64_t kBatch = 16, kLength = 112;  // FinetuneOptions::batch_size, data::kTaskMaxExampleBytes

Tensor random_ids(int64_t vocab, Generator& g) {
  std::vector<int64_t> ids(size_t(kBatch * kLength));
  for (int64_t& id : ids) id = int64_t(g.uniform() * double(vocab)) % vocab;
  return from_vector<int64_t>(ids, {kBatch, kLength});
}

enum class Mode { full, lora, frozen_base };

void train_step(benchmark::State& state, Mode mode) {
  Generator g(1);
  nn::GPT model(nn::tiny_gpt_config(), g);
  if (mode == Mode::lora) {
    nn::LoraConfig config;
    config.r = 8, config.lora_alpha = 8, config.target_modules = {"c_attn"};
    nn::inject_lora(model, config, g);
  } else if (mode == Mode::frozen_base) {
    model.freeze();
    model.child("wpe")->unfreeze();
  }
  model.train();
  std::vector<Tensor> trainable;
  for (const Tensor& p : model.parameters())
    if (ag::requires_grad(p)) trainable.push_back(p);
  AdamW opt(trainable, AdamWOptions{});
  const Tensor ids = random_ids(model.config().vocab_size, g), targets = random_ids(model.config().vocab_size, g);
  for (auto _ : state) {
    opt.zero_grad();
    Tensor loss = model.loss(ids, targets);
    ag::backward(loss);
    opt.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  int64_t n = 0;
  for (const Tensor& p : trainable) n += p.numel();
  state.counters["tokens"] = benchmark::Counter(double(kBatch * kLength), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["trainable"] = double(n);
  state.counters["threads"] = double(omp_get_max_threads());
}

// args: M, N, K, r, nf4 (0 or 1)
void lora_forward(benchmark::State& state, const quant::LoraForwardVersion& v) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2), r = state.range(3);
  const bool nf4 = state.range(4) != 0;
  Generator g(3);
  auto normals = [&](int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    for (float& x : out) x = g.normal();
    return out;
  };
  const std::vector<float> x = normals(M * K), W = normals(N * K), A = normals(r * K), B = normals(N * r);
  std::vector<uint8_t> packed(size_t((N * K + 1) / 2));
  std::vector<float> absmax(size_t(quant::num_blocks(N * K, 64))), y(size_t(M * N));
  quant::quantize_nf4_ref(W.data(), N * K, 64, packed.data(), absmax.data());
  const quant::LoraRef lora{A.data(), B.data(), r, 1.0f};
  const quant::Nf4MatrixRef wref{packed.data(), absmax.data(), 64, N, K};
  for (auto _ : state) {
    if (nf4)
      v.nf4_base(x.data(), M, wref, lora, y.data());
    else
      v.f32_base(x.data(), M, W.data(), N, K, lora, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP"] =
      benchmark::Counter(2.0 * double(M * N * (K + r) + M * K * r) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (auto [name, mode] : {std::pair{"step/full", Mode::full}, {"step/lora_c_attn_r8", Mode::lora}, {"step/frozen_base", Mode::frozen_base}})
    benchmark::RegisterBenchmark(name, train_step, mode)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(3.0);
  for (const quant::LoraForwardVersion& v : quant::lora_forward_versions())
    benchmark::RegisterBenchmark((std::string("lora_fwd/") + v.name).c_str(), lora_forward, v)
        ->Args({kBatch * kLength, 384, 128, 8, 0})->Args({kBatch * kLength, 384, 128, 8, 1})
        ->Args({2048, 1024, 1024, 8, 0})->Args({2048, 1024, 1024, 8, 1})
        ->ArgNames({"M", "N", "K", "r", "nf4"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
