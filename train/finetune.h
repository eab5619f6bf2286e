// Fine-tuning on the downstream task (data/task.h): the loop lessons 05 (LoRA) and 06 (QLoRA) share,
// whatever the model holds (full weights, LoRA adapters, an NF4 base), since it trains exactly the
// parameters that require grad and measures the memory of a step from the allocator.
//
//   row i of a batch:  ids = bytes of prompt + answer + '\n', left-aligned, padded with 0
//                      targets = ids shifted by one; prompt positions and padding are ignore_index
//   step s:            batch from Generator(seed, s) -> loss -> backward -> clip -> lr(s) -> AdamW
//
// Not here: injecting LoRA (nn/lora.h), task accuracy by generation (train/task_eval.h), training
// from raw text (train/trainer.h, which this follows: schedule, clipping, step seeds, progress).
#pragma once

#include "data/task.h"
#include "nn/gpt.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lab::train {

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
};

struct FinetuneResult {
  std::vector<double> losses;  // training loss of each step
  double seconds_per_step = 0;
  // Peak memory of a step from the allocator, split: weights (all parameters), gradients (of the
  // trainable ones), optimizer state (AdamW's m and v), activations (the rest of the peak). Tensors
  // alive before the call that are not this model's (another model, a batch) are left out of the peak.
  size_t weight_bytes = 0, grad_bytes = 0, optimizer_bytes = 0, activation_bytes = 0, peak_bytes = 0;
};

// One example a row (prompt + answer + '\n', left-aligned, padded; padded targets ignored), AdamW over
// the parameters that require grad, warmup + cosine (train/schedule.h), clipping (optim/clip.h).
// Batches seeded from (seed, step). Progress line with ETA. Throws lab::Error on bad options, no
// trainable parameter, an example longer than the model's context, or a loss that is not finite.
FinetuneResult finetune_on_task(nn::GPT& model, const std::vector<data::TaskExample>& train, const FinetuneOptions& options);

// Mean cross-entropy over the answer tokens (answer + '\n') of `examples`, no_grad, eval mode (the
// model's mode is restored afterwards).
double task_loss(nn::GPT& model, const std::vector<data::TaskExample>& examples, int64_t batch_size = 32);

}  // namespace lab::train
