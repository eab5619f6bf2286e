// Checks that CLI11 runs on loralab's flags while it parses, so that a bad value is a bad command
// line: one line naming the flag, what was given and what is allowed, and exit status 2 (main.cpp).
//   --batch 0        "--batch: must be a whole number >= 1, got '0'"
//   --model x.json   "--model: x.json is a file, expected a checkpoint folder (config.json + model.safetensors)"
// Only the shape of a value is checked here; what is inside a file is the loaders' business
// (lab::Error, exit 1). Next: eval.cpp and generate.cpp, which use them.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>

namespace lab::tools {

CLI::Validator whole_number_at_least(int64_t min);  // decimal digits only (no '+', no fraction), no overflow
CLI::Validator finite_at_least(double min);         // a real number >= min; nan and inf refused
CLI::Validator usable_device();                     // cpu, cuda, cuda:N, and a GPU present for cuda
CLI::Validator existing_folder(const char* what);   // a folder that exists; `what` says what it should hold
CLI::Validator existing_file(const char* what);     // a regular file (or a pipe), not a folder

}  // namespace lab::tools
