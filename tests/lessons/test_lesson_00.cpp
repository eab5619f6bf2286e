// Lesson 00 with --quick, and the numbers it reports: its hand-built gradients agree with finite
// differences, and its MLP learns the two moons. Read from the summary.json the lesson writes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

TEST_CASE("lesson 00 --quick: gradients match finite differences and the MLP learns") {
  namespace fs = std::filesystem;
  fs::path out = fs::temp_directory_path() / "loralab_test_lesson_00";
  fs::remove_all(out);
  std::string command = std::string("'") + LAB_LESSON_BINARY + "' --quick --out '" + out.string() + "' > '" + (out.string() + ".log") + "' 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(out / "summary.json");
  REQUIRE(in.good());
  nlohmann::json s = nlohmann::json::parse(in);
  CHECK(s["max_grad_diff"].get<double>() < 1e-6);
  CHECK(s["final_loss"].get<double>() < 0.1);
  CHECK(s["accuracy"].get<double>() > 0.95);
  CHECK(s["steps"].get<int>() == 150);
  CHECK(fs::file_size(out / "loss.csv") > 0);
  CHECK(fs::file_size(out / "loss.svg") > 0);
}
