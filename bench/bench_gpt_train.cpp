// One training step of lesson 04's tiny GPT on the CPU, in tokens/s: forward, loss, backward,
// AdamW step, at batch 16 x context 128 (2048 tokens a step), f32, OpenMP threads as set by
// OMP_NUM_THREADS (all cores by default; 2 on the development machine).
// The yardstick is the same model and step in PyTorch: bench/pytorch/gpt_train_throughput.py.
// Not here: the training loop's data, schedule and logging (train/trainer.cpp), matmul alone
// (bench_matmul.cpp).
//
// Run: ./lab bench gpt_train   (figures and the machine: bench/RESULTS.md)
#include <benchmark/benchmark.h>
#include <omp.h>

#include "autograd/autograd.h"
#include "nn/gpt.h"
#include "optim/adamw.h"
#include "tensor/all.h"

#include <vector>

namespace {

constexpr int64_t kBatch = 16, kContext = 128;

// Random token ids [B, T] in [0, vocab): the step's cost does not depend on the text.
lab::Tensor random_ids(int64_t vocab, lab::Generator& g) {
  std::vector<int64_t> ids(size_t(kBatch * kContext));
  for (int64_t& id : ids) id = int64_t(g.uniform() * double(vocab)) % vocab;
  return lab::from_vector<int64_t>(ids, {kBatch, kContext});
}

void gpt_train_step(benchmark::State& state) {
  lab::Generator g(1);
  const lab::nn::GPTConfig config = lab::nn::tiny_gpt_config();
  lab::nn::GPT model(config, g);
  model.train();
  lab::AdamW opt(model.parameters(), lab::AdamWOptions{});
  lab::Tensor ids = random_ids(config.vocab_size, g), targets = random_ids(config.vocab_size, g);
  for (auto _ : state) {
    opt.zero_grad();
    lab::Tensor loss = model.loss(ids, targets);
    lab::ag::backward(loss);
    opt.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.counters["tokens"] = benchmark::Counter(double(kBatch * kContext), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = double(omp_get_max_threads());
  state.counters["params"] = double(model.num_parameters());
}

}  // namespace

// Wall-clock time: the step runs on OpenMP threads.
BENCHMARK(gpt_train_step)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(5.0);

BENCHMARK_MAIN();
