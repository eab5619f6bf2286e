// The LoRA parameter counts of lora_count.h, with their checks: r, in, out positive (PEFT's
// update_layer refuses r <= 0 as well), layers not negative. Plain integer arithmetic; the
// formulas and what is (not) counted are in the header.
#include "nn/lora_count.h"

#include "tensor/error.h"

namespace lab::nn {
namespace {

void check_target(const LoraTarget& t) {
  LAB_CHECK(t.in_features > 0 && t.out_features > 0, "LoRA target '{}': in_features and out_features must be positive, got {} and {}",
            t.name, t.in_features, t.out_features);
}

}  // namespace

int64_t lora_parameters(int64_t in_features, int64_t out_features, int64_t r) {
  LAB_CHECK(r > 0, "LoRA rank r must be positive, got {} (PEFT's update_layer refuses r <= 0 too)", r);
  check_target({"", in_features, out_features});
  // A [r, in] + B [out, r]
  return r * (in_features + out_features);
}

int64_t lora_parameters(const std::vector<LoraTarget>& targets_per_layer, int64_t layers, int64_t r) {
  LAB_CHECK(layers >= 0, "LoRA parameter count: layers must be >= 0, got {}", layers);
  int64_t per_layer = 0;
  for (const LoraTarget& t : targets_per_layer) {
    check_target(t);
    per_layer += lora_parameters(t.in_features, t.out_features, r);
  }
  return layers * per_layer;
}

int64_t dense_parameters(const std::vector<LoraTarget>& targets_per_layer, int64_t layers) {
  LAB_CHECK(layers >= 0, "dense parameter count: layers must be >= 0, got {}", layers);
  int64_t per_layer = 0;
  for (const LoraTarget& t : targets_per_layer) {
    check_target(t);
    per_layer += t.in_features * t.out_features;
  }
  return layers * per_layer;
}

}  // namespace lab::nn
