// What every lesson test does first: run the lesson (with --quick, or at full size for the long
// tests) into a fresh folder, and read the summary.json it writes there (the numbers the test then
// checks). The lesson's own output goes to <folder>.log, so a failing run can be read afterwards.
// LAB_LESSON_BINARY comes from CMake.
#pragma once

#include <catch2/catch.hpp>

#include "tensor/json_io.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

// Runs the lesson with `args` (e.g. "--quick") and --out a fresh temporary folder; returns its summary.json.
inline nlohmann::json run_lesson(const std::string& name, const std::string& args, std::filesystem::path* out_dir = nullptr) {
  namespace fs = std::filesystem;
  const fs::path out = fs::temp_directory_path() / ("loralab_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(out);
  const std::string command = fmt::format("'{}' {} --out '{}' > '{}.log' 2>&1", LAB_LESSON_BINARY, args, out.string(), out.string());
  INFO("lesson output: " << out.string() << ".log");
  REQUIRE(std::system(command.c_str()) == 0);
  const fs::path summary = out / "summary.json";
  REQUIRE(fs::is_regular_file(summary));
  if (out_dir) *out_dir = out;
  return lab::json_io::read_file(summary);
}

inline nlohmann::json run_lesson_quick(const std::string& name, std::filesystem::path* out_dir = nullptr) {
  return run_lesson(name, "--quick", out_dir);
}
