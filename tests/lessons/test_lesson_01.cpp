// Lesson 01 with --quick, and the numbers it reports: the SVD finds the 4x4's rank-1 factors, and
// the change fine-tuning makes to the hidden layers is lower rank than a random matrix of the same
// size and norm. Read from the summary.json the lesson writes.
#include "tests/lessons/run_lesson.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

static std::vector<double> normalized(std::vector<double> x) {
  double n = 0;
  for (double v : x) n += v * v;
  for (double& v : x) v /= std::sqrt(n);
  return x;
}

TEST_CASE("lesson 01 --quick: the 4x4 is column times row, and fine-tuning deltas are low rank") {
  namespace fs = std::filesystem;
  fs::path out;
  nlohmann::json s = run_lesson_quick("lesson_01", &out);

  // Part 1: rank 1, and the normalized SVD factors are the normalized column [-2,-1,7,6] and row
  // [4,1,3,-3] with one common sign (u v^T is what is unique, not u and v apart).
  const nlohmann::json& p1 = s["part1"];
  CHECK(p1["rank"].get<int>() == 1);
  CHECK(p1["sigma1"].get<double>() == Approx(std::sqrt(90.0 * 35.0)).epsilon(1e-12));
  CHECK(p1["max_error"].get<double>() < 1e-12);
  std::vector<double> u = p1["u"].get<std::vector<double>>(), v = p1["v"].get<std::vector<double>>();
  std::vector<double> col = normalized({-2, -1, 7, 6}), row = normalized({4, 1, 3, -3});
  const double sign = u[0] * col[0] > 0 ? 1 : -1;
  for (size_t i = 0; i < 4; i++) {
    CHECK(sign * u[i] == Approx(col[i]).margin(1e-12));
    CHECK(sign * v[i] == Approx(row[i]).margin(1e-12));
  }
  std::vector<double> c = p1["column"].get<std::vector<double>>(), r = p1["row"].get<std::vector<double>>();
  for (size_t i = 0; i < 4; i++) {
    CHECK(c[i] == Approx(-2 * col[i] / col[0]).margin(1e-12));
    CHECK(r[i] == Approx(4 * row[i] / row[0]).margin(1e-10));
  }

  // Part 3: in both hidden layers, the top 4 singular values of dW hold more of its energy than
  // those of a random matrix of the same shape and Frobenius norm.
  for (const char* layer : {"fc2", "fc3"}) {
    INFO("layer " << layer);
    const nlohmann::json& l = s["part3"]["layers"][layer];
    CHECK(l["top4_energy_delta"].get<double>() > l["top4_energy_random"].get<double>());
  }
  CHECK(s["part3"]["accuracy_B_finetuned"].get<double>() > s["part3"]["accuracy_B_pretrained"].get<double>());

  // Part 4: the LoRA counts come from nn::lora_parameters.
  CHECK(s["part4"]["GPT-3 175B"]["lora_parameters"].get<int64_t>() == 18'874'368);
  CHECK(s["part4"]["LLaMA-7B"]["lora_parameters"].get<int64_t>() == 4'194'304);
  CHECK(s["seconds"].get<double>() < 60);  // generous: --quick is meant to take under 10 s on two cores
  CHECK(fs::file_size(out / "spectra.svg") > 0);
  CHECK(fs::file_size(out / "truncate_weight.csv") > 0);
}
