// How many parameters LoRA trains: the one count the framework uses (lesson 01's arithmetic, the
// LoRA layers' num_parameters, the lessons' "trainable" lines).
//
// LoRA (Hu et al. 2021, sec. 4.1) replaces the update of a frozen W [out, in] by B A, with
// A [r, in] and B [out, r] (PEFT's lora_A = nn.Linear(in, r), lora_B = nn.Linear(r, out), in
// src/peft/tuners/lora/layer.py):
//   trainable = r * in + out * r = r * (in + out)   instead of in * out
// Counted here: A and B only. Not counted: biases (PEFT's default bias="none" trains none), the
// frozen W, modules_to_save. Next: the layer that owns A and B (lora.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lab::nn {

// One weight matrix LoRA adapts, W [out_features, in_features] as torch.nn.Linear stores it.
struct LoraTarget {
  std::string name;  // "q_proj", for messages and tables
  int64_t in_features = 0;
  int64_t out_features = 0;
};

// r * (in + out): A [r, in] plus B [out, r]. r, in and out must be positive (PEFT refuses r <= 0).
int64_t lora_parameters(int64_t in_features, int64_t out_features, int64_t r);

// The whole model: the same targets in each of `layers` blocks, rank r everywhere:
//   layers * sum over targets of r * (in + out)
int64_t lora_parameters(const std::vector<LoraTarget>& targets_per_layer, int64_t layers, int64_t r);

// What full fine-tuning of the same matrices trains: layers * sum over targets of in * out.
int64_t dense_parameters(const std::vector<LoraTarget>& targets_per_layer, int64_t layers);

}  // namespace lab::nn
