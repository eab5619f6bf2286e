// A progress line for anything that runs longer than a few seconds: done/total, rate, ETA and a
// few named values (loss, tokens/s, ...).
//
//   [##########..........] 120/500  loss 0.5321  24.1 it/s  ETA 0:16
//
// On a terminal it redraws one line; elsewhere (CI logs, pipes) it prints a line at every 10% so
// logs stay short. finish() ends the line and prints the total time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lab::train {

class Progress {
public:
  // `start`: steps already done before this run (a resumed training run); the rate counts from it.
  Progress(int64_t total, std::string label, int64_t start = 0);
  // `done` steps finished; `values` are shown after the counts ("loss", 0.53).
  void update(int64_t done, const std::vector<std::pair<std::string, double>>& values = {});
  // A line of its own on stdout (a validation loss, a checkpoint saved), clear of the redrawn bar.
  void note(const std::string& line);
  void finish();

private:
  int64_t total_;
  std::string label_;
  int64_t start_done_;
  bool tty_;
  int64_t last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool finished_ = false;
};

std::string format_duration(double seconds);  // 75.2 -> "1:15", 3725 -> "1:02:05"

}  // namespace lab::train
