// Fine-tuning on the downstream task (data/task.h): the loop lessons 05 (LoRA) and 06 (QLoRA) share,
// for either family (GPT-2 or LLaMA, nn/causal_lm.h) and whatever the model holds (full weights, LoRA
// adapters, an NF4 base), since it trains exactly the parameters that require grad and measures the
// memory of a step from the allocator. The task is bytes, so the model's vocabulary must hold all 256.
//
//   row i of a batch:  ids = bytes of prompt + answer + '\n', left-aligned, padded with 0
//                      targets = ids shifted by one; prompt positions and padding are ignore_index
//   step s:            batch from Generator(seed, s) -> loss -> backward -> clip -> lr(s) -> AdamW
//
// Not here: injecting LoRA (nn/lora.h), task accuracy by generation (train/task_eval.h), training
// from raw text (train/trainer.h, which this follows: schedule, clipping, step seeds, progress).
#pragma once

#include "data/task.h"
#include "nn/causal_lm.h"
#include "optim/optimizer.h"
#include "optim/page_manager.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lab::train {

// Which optimizer updates the trained parameters: AdamW (optim/adamw.h), AdamW8bit
// (optim/adamw8bit.h), or their paged variants (optim/paged_adamw.h), all with the same betas and eps.
enum class OptimizerKind { adamw, paged_adamw, adamw8bit, paged_adamw8bit };
std::string optimizer_name(OptimizerKind kind);  // "AdamW", "PagedAdamW", "AdamW8bit", "PagedAdamW8bit"

struct FinetuneOptions {
  int64_t steps = 200;
  int64_t batch_size = 16;
  double lr = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup = 10;
  double weight_decay = 0.0;
  double clip = 1.0;  // max global grad norm; 0 turns clipping off
  uint64_t seed = 0;
  bool loss_on_answer_only = true;  // targets of the prompt bytes are ignore_index: the model learns to answer, not to write stories
  bool quiet = false;               // no progress line (tests)
  OptimizerKind optimizer = OptimizerKind::adamw;
  size_t page_bytes = kDefaultPageBytes;  // the page size of a paged optimizer
  // The length (tokens) to pad the batch of step s (0-based) to; 0, or less than the longest row,
  // leaves it at the longest row. The padded positions are ignored targets, so the loss is the
  // examples' own (up to rounding) while activations grow: lesson 07's memory spike. At most context_length().
  std::function<int64_t(int64_t step)> pad_to;
  // Called after each step's update with that step (0-based) and the optimizer (lesson 07 reads a
  // paged optimizer's counts there); may be empty.
  std::function<void(int64_t step, const Optimizer& optimizer)> after_step;
};

struct FinetuneResult {
  std::vector<double> losses;  // training loss of each step
  double seconds_per_step = 0;
  // Peak memory of a step from the allocator, split: weights (all parameters), gradients (of the
  // trainable ones), optimizer state (AdamW's m and v; a paged optimizer's pages on the device at the
  // end), activations (the rest of the peak). Tensors alive before the call that are not this model's
  // (another model, a batch) are left out of the peak.
  size_t weight_bytes = 0, grad_bytes = 0, optimizer_bytes = 0, activation_bytes = 0, peak_bytes = 0;
  // A paged optimizer's state: optimizer_bytes is what is on the device at the end, this what is on the host.
  size_t optimizer_host_bytes = 0;
  std::vector<size_t> step_peak_bytes;  // the peak of each step, counted as peak_bytes is
};

// One example a row (prompt + answer + '\n', left-aligned, padded; padded targets ignored), AdamW (or
// options.optimizer) over the parameters that require grad, warmup + cosine (train/schedule.h), clipping (optim/clip.h).
// Batches seeded from (seed, step). Progress line with ETA. Throws lab::Error on bad options, no
// trainable parameter, a vocabulary under 256, an example longer than the model's context, or a loss that is not finite.
FinetuneResult finetune_on_task(nn::CausalLM& model, const std::vector<data::TaskExample>& train, const FinetuneOptions& options);

// Mean cross-entropy over the answer tokens (answer + '\n') of `examples`, no_grad, eval mode (the
// model's mode is restored afterwards).
double task_loss(nn::CausalLM& model, const std::vector<data::TaskExample>& examples, int64_t batch_size = 32);

}  // namespace lab::train
