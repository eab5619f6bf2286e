// What every lesson test does first: run the lesson with --quick into a fresh folder, and read the
// summary.json it writes there (the numbers the test then checks). The lesson's own output goes to
// <folder>.log, so a failing run can be read afterwards. LAB_LESSON_BINARY comes from CMake.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

inline nlohmann::json run_lesson_quick(const std::string& name, std::filesystem::path* out_dir = nullptr) {
  namespace fs = std::filesystem;
  const fs::path out = fs::temp_directory_path() / ("loralab_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(out);
  const std::string command =
      std::string("'") + LAB_LESSON_BINARY + "' --quick --out '" + out.string() + "' > '" + out.string() + ".log' 2>&1";
  INFO("lesson output: " << out.string() << ".log");
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(out / "summary.json");
  REQUIRE(in.good());
  if (out_dir) *out_dir = out;
  return nlohmann::json::parse(in);
}
