// `loralab devices`: which devices loralab can use here: the CPU (cores, memory budget) and each
// CUDA GPU (name, memory), or the one-line reason there is none. `./lab test` prints it so that a
// skipped GPU test always comes with its reason.
#pragma once

#include <CLI/CLI.hpp>

namespace lab::tools {

CLI::App* add_devices_command(CLI::App& app);
void run_devices();

}  // namespace lab::tools
