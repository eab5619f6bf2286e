// `loralab inspect PATH`: what is in a safetensors file or a checkpoint folder: metadata, every
// tensor's dtype, shape and bytes, and (with --stats) min/max/mean/std of its values.
// It only reads; the checks themselves are the reader's (tensor/safetensors.h).
// `loralab inspect --model DIR`: the model instead of its tensors, from config.json and the headers
// only: family, config, parameter count, dtypes, shards, tokenizer, PEFT's default LoRA targets.
// main.cpp registers the subcommand, then calls run_inspect once the command line is parsed.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace lab::tools {

struct InspectOptions {
  std::string path;   // a .safetensors file, or a folder of them
  std::string model;  // --model DIR: the model summary instead
  bool stats = true;  // load each shown tensor and summarize its values
  int64_t limit = 0;  // rows shown per file; 0 shows every tensor
};

CLI::App* add_inspect_command(CLI::App& app, InspectOptions& options);

// Prints the report on stdout; a bad or missing file is a lab::Error (main turns it into exit 1).
void run_inspect(const InspectOptions& options);

}  // namespace lab::tools
