// Fine-tuning on the task (train/finetune.h) with a tiny GPT (1 layer, 32 wide, context 128): the
// loss falls, only what requires grad changes, the same seed gives the same run, padding does not
// change task_loss, the memory split adds up to what the parameters say, and bad inputs are errors;
// the optimizer choice (PagedAdamW = AdamW bit for bit), the pad_to hook (lesson 07's spike), after_step;
// and the same loop on a LLaMA (the weights of the fixture llama_tiny, LoRA on q_proj and v_proj), through nn::CausalLM.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "data/byte_tokenizer.h"
#include "data/task.h"
#include "nn/gpt.h"
#include "nn/llama.h"
#include "nn/llama_checkpoint.h"
#include "nn/lora.h"
#include "tensor/all.h"
#include "train/finetune.h"

#include <algorithm>
#include <cmath>

using namespace lab;

namespace {

nn::GPTConfig test_config() {
  nn::GPTConfig c;
  c.vocab_size = 256, c.n_positions = 128, c.n_embd = 32, c.n_layer = 1, c.n_head = 2;
  return c;
}

std::unique_ptr<nn::GPT> fresh_model() {
  Generator gen(5);
  auto m = std::make_unique<nn::GPT>(test_config(), gen);
  m->name_parameters();
  return m;
}

train::FinetuneOptions quick_options(int64_t steps) {
  train::FinetuneOptions o;
  o.steps = steps, o.batch_size = 8, o.lr = 3e-3, o.min_lr = 3e-4, o.warmup = std::min<int64_t>(2, steps), o.seed = 1, o.quiet = true;
  return o;
}

bool same_values(const Tensor& a, const Tensor& b) { return max(abs(sub(a, b))).item<double>() == 0.0; }

}  // namespace

TEST_CASE("finetune_on_task: the loss falls and task_loss on held-out examples falls with it") {
  auto model = fresh_model();
  const auto train_set = data::make_task(1, 200, data::TaskSplit::train);
  const auto test_set = data::make_task(1, 40, data::TaskSplit::test);
  const double before = train::task_loss(*model, test_set);
  CHECK(std::fabs(before - std::log(256.0)) < 0.5);  // an untrained model guesses about uniformly
  train::FinetuneResult r = train::finetune_on_task(*model, train_set, quick_options(40));
  REQUIRE(r.losses.size() == 40);
  for (double l : r.losses) REQUIRE(std::isfinite(l));
  // answers are a colour, a name or an object, then '\n': the model learns the word lists quickly
  const double first = (r.losses[0] + r.losses[1]) / 2, last = (r.losses[38] + r.losses[39]) / 2;
  CHECK(last < first - 1.5);
  const double after = train::task_loss(*model, test_set);
  CHECK(after < before - 1.5);
  CHECK(r.seconds_per_step > 0);
  CHECK(model->is_training());  // task_loss restored the mode it found
}

TEST_CASE("finetune_on_task: only parameters that require grad change, and the memory split counts them") {
  auto model = fresh_model();
  model->freeze();
  Tensor& ln_f = model->parameter("ln_f.weight");
  ag::set_requires_grad(ln_f, true);
  const Tensor ln_f_before = ln_f.clone(), wte_before = model->parameter("wte.weight").clone();
  const auto train_set = data::make_task(2, 50, data::TaskSplit::train);
  train::FinetuneResult r = train::finetune_on_task(*model, train_set, quick_options(3));
  CHECK_FALSE(same_values(model->parameter("ln_f.weight"), ln_f_before));
  CHECK(same_values(model->parameter("wte.weight"), wte_before));
  // weights: every parameter in f32; grads and AdamW's m and v: the one trainable tensor [32]
  CHECK(r.weight_bytes == size_t(4 * model->num_parameters()));
  CHECK(r.grad_bytes == 4 * 32);
  CHECK(r.optimizer_bytes == 2 * 4 * 32);
  CHECK(r.activation_bytes > 0);
  CHECK(r.peak_bytes == r.weight_bytes + r.grad_bytes + r.optimizer_bytes + r.activation_bytes);
}

TEST_CASE("finetune_on_task: full fine-tuning counts a gradient and two moments for every parameter") {
  auto model = fresh_model();
  train::FinetuneResult r = train::finetune_on_task(*model, data::make_task(3, 30, data::TaskSplit::train), quick_options(2));
  const size_t params = size_t(4 * model->num_parameters());
  CHECK(r.weight_bytes == params);
  CHECK(r.grad_bytes == params);
  CHECK(r.optimizer_bytes == 2 * params);
  CHECK(r.peak_bytes >= 4 * params);
}

TEST_CASE("finetune_on_task: the same seed gives the same losses, another seed other batches") {
  const auto train_set = data::make_task(4, 100, data::TaskSplit::train);
  auto a = fresh_model(), b = fresh_model(), c = fresh_model();
  train::FinetuneOptions o = quick_options(4);
  const auto ra = train::finetune_on_task(*a, train_set, o);
  const auto rb = train::finetune_on_task(*b, train_set, o);
  o.seed = 2;
  const auto rc = train::finetune_on_task(*c, train_set, o);
  CHECK(ra.losses == rb.losses);
  CHECK(ra.losses != rc.losses);
  CHECK(same_values(a->parameter("h.0.attn.c_attn.weight"), b->parameter("h.0.attn.c_attn.weight")));
}

TEST_CASE("task_loss: padding does not change it, and it is the mean over answer tokens") {
  auto model = fresh_model();
  const auto examples = data::make_task(5, 12, data::TaskSplit::test);
  const double batched = train::task_loss(*model, examples, 32), one_by_one = train::task_loss(*model, examples, 1);
  CHECK(batched == Approx(one_by_one).epsilon(1e-5));
  // the same mean by hand: each example's summed loss over answer + '\n' (one forward each)
  ag::NoGradGuard no_grad;
  model->eval();
  double total = 0;
  int64_t count = 0;
  for (const auto& e : examples) {
    const std::vector<int64_t> bytes = data::encode_bytes(e.prompt + e.answer + "\n");
    const int64_t n = int64_t(bytes.size()), p = int64_t(e.prompt.size());
    std::vector<int64_t> ids(bytes.begin(), bytes.end() - 1), targets(size_t(n - 1), -100);
    for (int64_t t = p - 1; t < n - 1; t++) targets[size_t(t)] = bytes[size_t(t + 1)];
    const double mean = model->loss(from_vector(ids, {1, n - 1}), from_vector(targets, {1, n - 1})).item<double>();
    total += mean * double(n - p), count += n - p;
  }
  model->train();
  CHECK(batched == Approx(total / double(count)).epsilon(1e-5));
}

TEST_CASE("finetune_on_task: errors name what is wrong") {
  const auto train_set = data::make_task(6, 20, data::TaskSplit::train);
  SECTION("nothing to train") {
    auto model = fresh_model();
    model->freeze();
    CHECK_THROWS_WITH(train::finetune_on_task(*model, train_set, quick_options(1)), Catch::Contains("nothing to train"));
  }
  SECTION("a context too short for an example") {
    nn::GPTConfig c = test_config();
    c.n_positions = 32;
    Generator gen(1);
    nn::GPT model(c, gen);
    CHECK_THROWS_WITH(train::finetune_on_task(model, train_set, quick_options(1)), Catch::Contains("context of 32"));
    CHECK_THROWS_WITH(train::task_loss(model, train_set), Catch::Contains("context of 32"));
  }
  SECTION("bad options and no examples") {
    auto model = fresh_model();
    train::FinetuneOptions o = quick_options(1);
    o.steps = 0;
    CHECK_THROWS_WITH(train::finetune_on_task(*model, train_set, o), Catch::Contains("steps"));
    CHECK_THROWS_WITH(train::finetune_on_task(*model, {}, quick_options(1)), Catch::Contains("no training examples"));
    CHECK_THROWS_WITH(train::task_loss(*model, {}), Catch::Contains("no examples"));
  }
}

TEST_CASE("finetune_on_task: PagedAdamW gives AdamW's run bit for bit, pad_to grows a step's peak, after_step sees every step") {
  const auto train_set = data::make_task(1, 100, data::TaskSplit::train);
  train::FinetuneOptions o = quick_options(6);
  o.pad_to = [](int64_t step) { return step == 3 ? int64_t(128) : int64_t(0); };  // step 4 padded to the whole context
  auto a = fresh_model(), b = fresh_model();
  const train::FinetuneResult plain = train::finetune_on_task(*a, train_set, o);
  train::FinetuneOptions po = o;
  po.optimizer = train::OptimizerKind::paged_adamw;
  po.page_bytes = 4096;
  std::vector<int64_t> seen;
  po.after_step = [&](int64_t step, const Optimizer& opt) {
    seen.push_back(step);
    CHECK(opt.name() == "PagedAdamW");
  };
  const train::FinetuneResult paged = train::finetune_on_task(*b, train_set, po);
  CHECK(paged.losses == plain.losses);
  CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); i++) CHECK(same_values(pa[i], pb[i]));
  // the state is all paged: none left in tensors, all of it on the device (no budget), as many bytes as AdamW's
  CHECK(paged.optimizer_bytes == plain.optimizer_bytes);
  CHECK(paged.optimizer_host_bytes == 0);
  // the padded step holds more activations than any other (128 positions instead of at most 112)
  REQUIRE(plain.step_peak_bytes.size() == 6);
  for (size_t s = 0; s < 6; s++)
    if (s != 3) CHECK(plain.step_peak_bytes[3] > plain.step_peak_bytes[s]);
  CHECK(plain.peak_bytes == *std::max_element(plain.step_peak_bytes.begin(), plain.step_peak_bytes.end()));
  // padding past the context is an error
  train::FinetuneOptions bad = o;
  bad.pad_to = [](int64_t) { return int64_t(129); };
  CHECK_THROWS_WITH(train::finetune_on_task(*a, train_set, bad), Catch::Contains("cannot pad a batch to 129 tokens"));
}

TEST_CASE("finetune_on_task and task_loss on a LLaMA: LoRA on q_proj and v_proj of the fixture's weights lowers the answer loss") {
  auto fixture = nn::load_llama(LAB_TEST_DATA_DIR "/reference/llama_tiny");
  REQUIRE(fixture->vocab_size() == 256);  // byte-level: the task's ids are its tokens
  // Its context (64) is shorter than every task example: the same weights with a context of 128, which
  // rotary positions allow (they have no parameters).
  CHECK_THROWS_WITH(train::task_loss(*fixture, data::make_task(1, 10, data::TaskSplit::test)), Catch::Contains("context of 64"));
  nn::LlamaConfig c = fixture->config();
  c.max_position_embeddings = 128;
  Generator init(0);
  auto model = std::make_shared<nn::Llama>(c, init);
  std::map<std::string, Tensor> weights;
  for (const auto& [name, t] : fixture->state_dict()) weights[name] = t;
  model->load_state_dict(weights);
  const auto train_set = data::make_task(1, 200, data::TaskSplit::train);
  const auto test_set = data::make_task(1, 40, data::TaskSplit::test);
  nn::LoraConfig lora;
  lora.r = 8, lora.lora_alpha = 16, lora.target_modules = model->default_lora_targets();
  Generator gen(3);
  nn::inject_lora(*model, lora, gen);
  model->name_parameters();
  CHECK(model->num_parameters(true) == 2 * 8 * ((64 + 64) + (64 + 32)));  // q: 64 -> 64, v: 64 -> 32, 2 layers
  const Tensor q_before = model->parameter("model.layers.0.self_attn.q_proj.base_layer.weight").clone();

  const double before = train::task_loss(*model, test_set);
  train::FinetuneOptions o = quick_options(30);
  o.lr = 3e-2, o.min_lr = 3e-3;
  const train::FinetuneResult r = train::finetune_on_task(*model, train_set, o);
  REQUIRE(r.losses.size() == 30);
  const double first = (r.losses[0] + r.losses[1]) / 2, last = (r.losses[28] + r.losses[29]) / 2;
  INFO("train loss " << first << " -> " << last);
  // a random base whose head is frozen: the adapters move the loss by about half a nat in 30 steps
  // (5.56 -> 5.13 train, 5.61 -> 5.14 test); an adapter that did not learn would leave it at ln 256
  CHECK(last < first - 0.25);
  const double after = train::task_loss(*model, test_set);
  INFO("test loss " << before << " -> " << after);
  CHECK(after < before - 0.25);
  CHECK(same_values(model->parameter("model.layers.0.self_attn.q_proj.base_layer.weight"), q_before));  // the base is frozen
  CHECK(r.grad_bytes == size_t(4 * model->num_parameters(true)));
}

TEST_CASE("finetune_on_task and task_loss refuse a model whose vocabulary cannot hold the task's bytes") {
  nn::LlamaConfig c;
  c.vocab_size = 200, c.hidden_size = 16, c.intermediate_size = 32, c.num_hidden_layers = 1, c.num_attention_heads = 2,
  c.num_key_value_heads = 1;
  Generator gen(1);
  nn::Llama small(c, gen);
  const auto train_set = data::make_task(6, 20, data::TaskSplit::train);
  CHECK_THROWS_WITH(train::finetune_on_task(small, train_set, quick_options(1)),
                    Catch::Contains("llama model has vocab_size 200") && Catch::Contains("finetune_on_task"));
  CHECK_THROWS_WITH(train::task_loss(small, train_set), Catch::Contains("vocab_size 200") && Catch::Contains("task_loss"));
}
