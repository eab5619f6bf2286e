// Fine-tuning on the task (finetune.h): batches of whole examples, the AdamW loop over what requires
// grad, and the split of a step's peak memory into weights, gradients, optimizer state, activations.
#include "train/finetune.h"

#include "autograd/autograd.h"
#include "data/byte_tokenizer.h"
#include "data/world.h"
#include "optim/adamw.h"
#include "optim/adamw8bit.h"
#include "optim/clip.h"
#include "optim/paged_adamw.h"
#include "quant/linear4bit.h"
#include "tensor/allocator.h"
#include "tensor/factory.h"
#include "train/progress.h"
#include "train/schedule.h"
#include "train/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace lab::train {

namespace {

constexpr int64_t kIgnore = -100;

struct TaskBatch {
  Tensor ids, targets;  // [B, T] i64, T = the longest row's length minus one
  int64_t answer_tokens = 0;  // targets that count (not ignore_index)
};

// Row i: ids = bytes[0 .. n-2], targets = bytes[1 .. n-1] with bytes = prompt + answer + '\n'.
// A target whose byte belongs to the prompt is ignored when answer_only; padding is ignored always.
// T is the longest row's n - 1, or pad_to if that is longer.
TaskBatch make_batch(const std::vector<const data::TaskExample*>& rows, bool answer_only, int64_t context, int64_t pad_to = 0) {
  int64_t T = 1;
  for (const data::TaskExample* e : rows) T = std::max<int64_t>(T, int64_t(e->prompt.size() + e->answer.size()));  // n - 1
  LAB_CHECK(pad_to <= context, "fine-tuning: cannot pad a batch to {} tokens, the model's context is {} (HINT: pad_to <= the context length)",
            pad_to, context);
  T = std::max(T, pad_to);
  LAB_CHECK(T <= context,
            "fine-tuning: an example of {} bytes does not fit the model's context of {} tokens (prompt '{}') "
            "(HINT: a model whose context (n_positions, max_position_embeddings) is >= {}, e.g. lesson 04 with --context 128)",
            T + 1, context, rows.size() == 1 ? rows[0]->prompt : std::string("..."), data::kTaskMaxExampleBytes);
  const int64_t B = int64_t(rows.size());
  std::vector<int64_t> ids(size_t(B * T), 0), targets(size_t(B * T), kIgnore);
  TaskBatch batch;
  for (int64_t i = 0; i < B; i++) {
    const std::vector<int64_t> bytes = data::encode_bytes(rows[size_t(i)]->prompt + rows[size_t(i)]->answer + "\n");
    const int64_t prompt_len = int64_t(rows[size_t(i)]->prompt.size());
    for (int64_t t = 0; t + 1 < int64_t(bytes.size()); t++) {
      ids[size_t(i * T + t)] = bytes[size_t(t)];
      // target t is byte t + 1: it is part of the answer when t + 1 >= prompt_len
      if (!answer_only || t + 1 >= prompt_len) {
        targets[size_t(i * T + t)] = bytes[size_t(t + 1)];
        batch.answer_tokens += 1;
      }
    }
  }
  batch.ids = from_vector(ids, {B, T});
  batch.targets = from_vector(targets, {B, T});
  return batch;
}

// The task's ids are bytes: each must be a row of the model's embedding.
void check_byte_vocab(const nn::CausalLM& model, const char* what) {
  LAB_CHECK(model.vocab_size() >= data::kByteVocab,
            "{}: the task is bytes (ids 0..255), but this {} model has vocab_size {}, so ids from {} on are not tokens it has "
            "(HINT: a model with vocab_size >= {}, e.g. one trained with lesson 04 or loralab train)",
            what, model.family(), model.vocab_size(), model.vocab_size(), data::kByteVocab);
}

// Bytes the model's weights hold: every parameter, plus the packed NF4 weights of Linear4bit layers,
// which are not parameters (nothing trains them).
size_t weight_bytes_of(nn::Module& model) {
  size_t bytes = 0;
  for (const auto& [name, p] : model.named_parameters()) bytes += p.nbytes();
  for (const auto& [name, m] : model.named_modules())
    if (auto* q = dynamic_cast<quant::Linear4bit*>(m)) bytes += q->weight().nbytes();
  return bytes;
}

// Puts the model back in the mode it was in, however the caller returns.
class ModeGuard {
public:
  ModeGuard(nn::Module& m, bool training) : model_(m), was_training_(m.is_training()) { model_.train(training); }
  ~ModeGuard() { model_.train(was_training_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

private:
  nn::Module& model_;
  bool was_training_;
};

// The optimizer of options.optimizer, and where its learning rate lives.
struct MadeOptimizer {
  std::unique_ptr<Optimizer> optimizer;
  AdamWOptions* options = nullptr;
};

MadeOptimizer make_optimizer(const std::vector<Tensor>& trainable, const FinetuneOptions& o) {
  const AdamWOptions adam{o.lr, 0.9, 0.999, 1e-8, o.weight_decay};
  MadeOptimizer made;
  switch (o.optimizer) {
    case OptimizerKind::adamw: {
      auto opt = std::make_unique<AdamW>(trainable, adam);
      made.options = &opt->options(), made.optimizer = std::move(opt);
      break;
    }
    case OptimizerKind::paged_adamw: {
      auto opt = std::make_unique<PagedAdamW>(trainable, adam, o.page_bytes);
      made.options = &opt->options(), made.optimizer = std::move(opt);
      break;
    }
    case OptimizerKind::adamw8bit: {
      auto opt = std::make_unique<AdamW8bit>(trainable, adam);
      made.options = &opt->options(), made.optimizer = std::move(opt);
      break;
    }
    case OptimizerKind::paged_adamw8bit: {
      auto opt = std::make_unique<PagedAdamW8bit>(trainable, adam, Adam8bitOptions{}, o.page_bytes);
      made.options = &opt->options(), made.optimizer = std::move(opt);
      break;
    }
  }
  return made;
}

// The pager of a paged optimizer, or null.
const PageManager* pager_of(const Optimizer& optimizer) {
  if (auto* p = dynamic_cast<const PagedAdamW*>(&optimizer)) return &p->pager();
  if (auto* p = dynamic_cast<const PagedAdamW8bit*>(&optimizer)) return &p->pager();
  return nullptr;
}

}  // namespace

std::string optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::adamw: return "AdamW";
    case OptimizerKind::paged_adamw: return "PagedAdamW";
    case OptimizerKind::adamw8bit: return "AdamW8bit";
    case OptimizerKind::paged_adamw8bit: return "PagedAdamW8bit";
  }
  return "?";
}

FinetuneResult finetune_on_task(nn::CausalLM& model, const std::vector<data::TaskExample>& train, const FinetuneOptions& o) {
  LAB_CHECK(o.steps >= 1, "finetune_on_task: steps must be at least 1, got {}", o.steps);
  LAB_CHECK(o.batch_size >= 1, "finetune_on_task: batch_size must be at least 1, got {}", o.batch_size);
  LAB_CHECK(o.clip >= 0 && std::isfinite(o.clip), "finetune_on_task: clip must be >= 0 (0 turns clipping off), got {}", o.clip);
  LAB_CHECK(o.weight_decay >= 0, "finetune_on_task: weight_decay must be >= 0, got {}", o.weight_decay);
  LAB_CHECK(!train.empty(), "finetune_on_task: no training examples (HINT: data::make_task(seed, count, TaskSplit::train))");
  const LrSchedule schedule{o.lr, o.min_lr, o.warmup, o.steps};
  schedule.validate();
  check_byte_vocab(model, "finetune_on_task");

  std::vector<Tensor> trainable;
  for (const Tensor& p : model.parameters())
    if (ag::requires_grad(p)) trainable.push_back(p);
  LAB_CHECK(!trainable.empty(),
            "finetune_on_task: no parameter of the model requires grad, so there is nothing to train "
            "(HINT: model.unfreeze() for full fine-tuning, or nn::inject_lora for LoRA)");
  const Device device = trainable.front().device();

  MadeOptimizer made = make_optimizer(trainable, o);
  Optimizer& optimizer = *made.optimizer;
  FinetuneResult result;
  result.weight_bytes = weight_bytes_of(model);
  for (const Tensor& p : trainable) result.grad_bytes += p.nbytes();
  // Everything alive before the first step (these weights, other models, ...) is the baseline.
  const size_t baseline = memory_stats(device).current;
  const size_t others = baseline > result.weight_bytes ? baseline - result.weight_bytes : 0;  // not this model's
  size_t peak = baseline;

  ModeGuard train_mode(model, true);
  Progress progress(o.steps, "finetune");
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  std::vector<const data::TaskExample*> rows(size_t(o.batch_size));
  for (int64_t step = 0; step < o.steps; step++) {
    // the batch of step s: batch_size examples drawn with replacement by Generator(seed, s)
    Generator batch_gen(step_seed(o.seed, step, 0, 0));
    model.seed_dropout(step_seed(o.seed, step, 0, 1));
    for (auto& row : rows) row = &train[size_t(data::world::uniform_index(batch_gen, int64_t(train.size())))];
    TaskBatch b = make_batch(rows, o.loss_on_answer_only, model.context_length(), o.pad_to ? o.pad_to(step) : 0);

    reset_peak_memory(device);  // each step's own peak; the call's is the largest of them
    optimizer.zero_grad();
    Tensor loss = model.loss(b.ids.to(device), b.targets.to(device), kIgnore);
    const double value = loss.item<double>();
    LAB_CHECK(std::isfinite(value), "finetune_on_task: the training loss is {} at step {} (HINT: a lower lr, a longer warmup, or clip 1)", value,
              step + 1);
    ag::backward(loss);
    loss = Tensor();
    if (o.clip > 0) clip_grad_norm(trainable, o.clip);
    made.options->lr = schedule.at(step);
    optimizer.step();
    optimizer.zero_grad();
    const size_t step_peak = memory_stats(device).peak;
    peak = std::max(peak, step_peak);
    result.step_peak_bytes.push_back(step_peak > others ? step_peak - others : 0);
    result.losses.push_back(value);
    if (o.after_step) o.after_step(step, optimizer);
    if (!o.quiet) progress.update(step + 1, {{"loss", value}, {"lr", made.options->lr}});
  }
  if (!o.quiet) progress.finish();
  result.seconds_per_step = std::chrono::duration<double>(Clock::now() - start).count() / double(o.steps);

  // AdamW's m and v of every trained parameter (not its step counts: one i64 scalar each, on the CPU);
  // a paged optimizer's are in its pages, on the device or on the host
  for (size_t i = 0; i < trainable.size(); i++)
    for (const auto& [name, t] : optimizer.state(i))
      if (t.dim() > 0) result.optimizer_bytes += t.nbytes();
  if (const PageManager* pager = pager_of(optimizer)) {
    result.optimizer_bytes += pager->resident_bytes();
    result.optimizer_host_bytes = pager->host_bytes();
  }
  // peak of the call = what was there before, minus what was not this model's, plus what the steps added
  result.peak_bytes = peak > others ? peak - others : 0;
  const size_t fixed = result.weight_bytes + result.grad_bytes + result.optimizer_bytes;
  result.activation_bytes = result.peak_bytes > fixed ? result.peak_bytes - fixed : 0;
  return result;
}

double task_loss(nn::CausalLM& model, const std::vector<data::TaskExample>& examples, int64_t batch_size) {
  LAB_CHECK(batch_size >= 1, "task_loss: batch_size must be at least 1, got {}", batch_size);
  LAB_CHECK(!examples.empty(), "task_loss: no examples");
  check_byte_vocab(model, "task_loss");
  ModeGuard eval_mode(model, false);
  ag::NoGradGuard no_grad;
  const Device device = model.device();
  double total = 0;  // sum of the per-token losses
  int64_t tokens = 0;
  for (size_t first = 0; first < examples.size(); first += size_t(batch_size)) {
    std::vector<const data::TaskExample*> rows;
    for (size_t i = first; i < std::min(examples.size(), first + size_t(batch_size)); i++) rows.push_back(&examples[i]);
    TaskBatch b = make_batch(rows, true, model.context_length());
    // model.loss is the mean over the batch's answer tokens: times their count, their sum
    total += model.loss(b.ids.to(device), b.targets.to(device), kIgnore).item<double>() * double(b.answer_tokens);
    tokens += b.answer_tokens;
  }
  return total / double(tokens);
}

}  // namespace lab::train
