// What every lesson shares: the standard flags, the run folder, and how a lesson exits.
//
//   --quick        seconds, not minutes (the tests run every lesson this way)
//   --device D     cpu or cuda (a clear error, exit 2, when there is no GPU)
//   --seed N       every random number of the lesson comes from Generator(seed)
//   --out DIR      where figures go (default runs/NN_topic/)
//
// A lesson's main() builds a CLI::App, calls add_standard_flags, and hands its story to run(),
// which turns bad flags into one line and exit 2, a lab::Error into one line and exit 1, and
// lesson::Interrupted (Ctrl-C, work saved) into exit 130, as a shell reports a program stopped by SIGINT.
#pragma once

#include "tensor/device.h"
#include "tensor/tensor.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace lab::lesson {

struct Options {
  bool quick = false;
  std::string device_name = "cpu";
  uint64_t seed = 0;
  std::string out_dir;  // created by run()
  Device device;        // parsed from device_name by run()
};

void add_standard_flags(CLI::App& app, Options& options, const std::string& lesson_name);

// Thrown by a story that stopped on Ctrl-C after saving its work (it has said so): run() returns 130.
struct Interrupted {};

// Parse the flags, check the device, make the output folder, then run the story.
int run(CLI::App& app, int argc, char** argv, Options& options, const std::function<void()>& story);

// OUT_DIR/summary.json: the numbers the lesson's test checks, written whole or not at all (temporary
// file, then rename). A string that is not valid UTF-8 (a byte-level model's sample) shows U+FFFD.
void write_summary(const Options& options, const nlohmann::json& summary);

// A section heading in the lesson's output.
void section(const std::string& title);

// Prints "name  exact: no  approx: yes  maxdiff: 3.1e-11" for two tensors of the same shape (ours
// first), and returns maxdiff. approx means maxdiff <= 1e-6 * (1 + max |reference|).
double compare(const std::string& name, const Tensor& ours, const Tensor& reference);

}  // namespace lab::lesson
