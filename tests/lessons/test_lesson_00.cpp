// Lesson 00 with --quick, and the numbers it reports: its hand-built gradients agree with finite
// differences, and its MLP learns the two moons. Read from the summary.json the lesson writes.
#include "tests/lessons/run_lesson.h"

#include <filesystem>
#include <string>

TEST_CASE("lesson 00 --quick: gradients match finite differences and the MLP learns") {
  namespace fs = std::filesystem;
  fs::path out;
  nlohmann::json s = run_lesson_quick("lesson_00", &out);
  CHECK(s["max_grad_diff"].get<double>() < 1e-6);
  CHECK(s["final_loss"].get<double>() < 0.1);
  CHECK(s["accuracy"].get<double>() > 0.95);
  CHECK(s["steps"].get<int>() == 150);
  CHECK(fs::file_size(out / "loss.csv") > 0);
  CHECK(fs::file_size(out / "loss.svg") > 0);
}
