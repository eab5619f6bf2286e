// The learning-rate schedule of GPT training (nanoGPT's get_lr, llm.c's): a linear warmup, then a
// cosine decay from max_lr to min_lr, then min_lr.
//
//   step < warmup:             lr = max_lr * (step + 1) / warmup
//   warmup <= step < total:    lr = min_lr + 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup))) * (max_lr - min_lr)
//   step >= total:             lr = min_lr
//
// Steps count from 0. Warmup keeps the first updates small while Adam's second-moment estimate is
// still noise; the cosine spends most steps at a high rate and lands softly. Not here: setting it
// on the optimizer (the training loop writes AdamW::options().lr before each step).
#pragma once

#include <cstdint>

namespace lab::train {

struct LrSchedule {
  double max_lr = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup = 0;  // steps of linear warmup
  int64_t total = 1;   // step at which the cosine reaches min_lr (the run's length)

  // A lab::Error naming the bad value: need 0 <= min_lr <= max_lr, 0 <= warmup <= total, total >= 1.
  void validate() const;
  double at(int64_t step) const;
};

}  // namespace lab::train
