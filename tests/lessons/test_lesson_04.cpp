// Lesson 04 with --quick: a 2-layer GPT trained 40 steps on the generated corpus. Its loss starts
// near ln 256 (an untrained model guesses uniformly) and falls well below it, and it leaves the
// curves, the training checkpoint and the Hugging Face model folder that lessons 05 and 06 load.
#include "tests/lessons/run_lesson.h"

#include <cmath>
#include <filesystem>
#include <string>

TEST_CASE("lesson 04 --quick: the loss falls from ln 256 and the model folder is written") {
  namespace fs = std::filesystem;
  fs::path out;
  nlohmann::json s = run_lesson_quick("lesson_04", &out);
  const double first = s["first_train_loss"].get<double>(), last = s["last_train_loss"].get<double>();
  CHECK(std::fabs(first - std::log(256.0)) < 0.3);
  CHECK(last < first - 2.0);
  CHECK(s["val_loss"].get<double>() < first - 2.0);
  CHECK(s["perplexity"].get<double>() == Approx(std::exp(s["val_loss"].get<double>())));
  CHECK(s["steps"].get<int>() == 40);
  CHECK(s["tokens_per_s"].get<double>() > 0);
  CHECK(s["model_bytes"].get<int64_t>() == 4 * s["parameters"].get<int64_t>());
  for (const char* file : {"loss.csv", "loss.svg", "checkpoint.safetensors", "model/config.json", "model/model.safetensors"}) {
    INFO(file);
    CHECK(fs::file_size(out / file) > 0);
  }
  fs::remove_all(out);
}
