// The warmup + cosine schedule of schedule.h.
#include "train/schedule.h"

#include "tensor/error.h"

#include <cmath>
#include <numbers>

namespace lab::train {

void LrSchedule::validate() const {
  LAB_CHECK(std::isfinite(max_lr) && max_lr > 0, "learning rate: max lr must be > 0, got {}", max_lr);
  LAB_CHECK(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= max_lr, "learning rate: min lr must be in [0, max lr = {}], got {}", max_lr, min_lr);
  LAB_CHECK(total >= 1, "learning rate: the schedule needs at least 1 step, got {}", total);
  LAB_CHECK(warmup >= 0 && warmup <= total, "learning rate: warmup must be in [0, steps = {}], got {} (HINT: a few percent of the steps is usual)", total,
            warmup);
}

double LrSchedule::at(int64_t step) const {
  // warmup: max_lr * (step + 1) / warmup
  if (step < warmup) return max_lr * double(step + 1) / double(warmup);
  if (step >= total) return min_lr;
  // cosine: min_lr + 0.5 * (1 + cos(pi * ratio)) * (max_lr - min_lr), ratio from 0 to 1
  const double ratio = double(step - warmup) / double(total - warmup);
  return min_lr + 0.5 * (1.0 + std::cos(std::numbers::pi * ratio)) * (max_lr - min_lr);
}

}  // namespace lab::train
