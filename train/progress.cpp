// The progress line of progress.h.
#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace lab::train {

Progress::Progress(int64_t total, std::string label, int64_t start)
    : total_(std::max<int64_t>(total, 1)), label_(std::move(label)), start_done_(start), tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_ - std::chrono::seconds(1)) {}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = int64_t(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

void Progress::update(int64_t done, const std::vector<std::pair<std::string, double>>& values) {
  auto now = std::chrono::steady_clock::now();
  int64_t decile = done * 10 / total_;
  // A terminal redraws at most 10 times a second; a log gets one line per 10%.
  if (tty_ ? (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) : decile == last_decile_) return;
  last_draw_ = now;
  last_decile_ = decile;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? double(done - start_done_) / elapsed : 0;
  double eta = rate > 0 ? double(total_ - done) / rate : NAN;
  const int width = 20;
  int filled = int(width * done / total_);
  std::string line = fmt::format("{} [{}{}] {}/{}", label_, std::string(size_t(filled), '#'), std::string(size_t(width - filled), '.'), done, total_);
  for (const auto& [name, value] : values) line += fmt::format("  {} {:.4g}", name, value);
  line += fmt::format("  {:.1f} it/s  ETA {}", rate, format_duration(eta));
  if (tty_) fmt::print(stderr, "\r{}\033[K", line);
  else fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

void Progress::note(const std::string& line) {
  if (tty_) {
    fmt::print(stderr, "\r\033[K");  // clear the bar; the next update() redraws it below the note
    std::fflush(stderr);
    last_draw_ = start_ - std::chrono::seconds(1);
  }
  fmt::print("{}\n", line);
  std::fflush(stdout);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "{}{} done in {}\n", tty_ ? "\n" : "", label_, format_duration(elapsed));
}

}  // namespace lab::train
