// `loralab merge --model DIR --adapter DIR --out DIR`: a base checkpoint (GPT-2 or LLaMA) plus a LoRA adapter
// (PEFT's folder: adapter_config.json + adapter_model.safetensors) becomes one plain checkpoint,
// W' = W + scaling * B A in every adapted layer (PEFT's merge_and_unload), that any reader of the family loads.
//
// It prints what it merged and the largest logits difference between the merged model and the
// adapter applied unmerged, on a probe batch of seeded random ids: merging changes only rounding.
// Not here: the merge arithmetic (nn/lora.h LoRALinear::merge), adapter files (nn/lora_io.h).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace lab::tools {

struct MergeOptions {
  std::string model;    // a checkpoint folder: config.json + model.safetensors
  std::string adapter;  // an adapter folder: adapter_config.json + adapter_model.safetensors
  std::string out;      // the merged checkpoint folder (created; its two files replaced)
};

CLI::App* add_merge_command(CLI::App& app, MergeOptions& options);

void run_merge(const MergeOptions& options);

}  // namespace lab::tools
