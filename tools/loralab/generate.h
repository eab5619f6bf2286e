// `loralab generate --model DIR [--adapter DIR] --prompt TEXT`: continue a prompt with a GPT-2 or LLaMA
// checkpoint (with a LoRA adapter, PEFT's folder, if given) and print prompt + continuation (then a
// newline), streaming each token as it comes. A KV cache (nn/kv_cache.h) makes each token cost one
// token's forward; --no-kv-cache re-reads the window every time, for the same tokens.
//
// The prompt is tokenized with the folder's tokenizer.json (or vocab.json + merges.txt); without one
// the model must be byte-level (vocab_size 256), else a clear error (exit 1) before the weights load.
// Sampling itself (temperature, top-k, the seeded draw) is nn/sample.h's; temperature 0 is greedy.
// Not here: scoring (eval.h), task accuracy (train/task_eval.h).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace lab::tools {

struct GenerateOptions {
  std::string model;            // a checkpoint folder: config.json + model.safetensors
  std::string adapter;          // a LoRA adapter folder (PEFT's layout) applied unmerged, or "" for none
  std::string prompt;           // text; each byte is a token
  int64_t max_new_tokens = 200;
  double temperature = 1.0;     // 0: greedy
  int64_t top_k = 0;            // 0: every token
  uint64_t seed = 0;
  std::string device = "cpu";
  bool no_kv_cache = false;     // --no-kv-cache: re-read the window for every token
};

CLI::App* add_generate_command(CLI::App& app, GenerateOptions& options);

void run_generate(const GenerateOptions& options);

}  // namespace lab::tools
