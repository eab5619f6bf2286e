// A training checkpoint: the model's and the optimizer's state in ONE safetensors file, so the two
// can never disagree after a crash, with the step and any metadata the caller adds.
//
//   keys: "model.<parameter name>", "optimizer.<state name>";  metadata: "step", and the caller's
//
// Written by save_safetensors, which writes a temporary file in the same folder and renames it:
// a process killed mid-write leaves the previous checkpoint whole (tests/reliability/ kills one).
// Not here: what to save when (the training loop decides), the model's layout (nn/module.h).
#pragma once

#include "tensor/safetensors.h"

#include <cstdint>
#include <map>
#include <string>

namespace lab::nn {

struct TrainingState {
  std::map<std::string, Tensor> model;      // by parameter name, ready for Module::load_state_dict
  std::map<std::string, Tensor> optimizer;  // ready for Optimizer::load_state_dict
  int64_t step = 0;
  std::map<std::string, std::string> metadata;  // what the caller saved, without "step"
};

void save_training_state(const std::string& path, const NamedTensors& model, const NamedTensors& optimizer, int64_t step,
                         const std::map<std::string, std::string>& metadata = {});
// A file that is not a training checkpoint (no "step", a key outside model./optimizer.) is a
// lab::Error naming the file and what is wrong.
TrainingState load_training_state(const std::string& path);

}  // namespace lab::nn
