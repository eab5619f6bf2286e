// Lesson 02 with --quick, and the numbers it reports: ties round to even, zero-point beats absmax on
// skewed data, smaller groups give smaller errors, one outlier wrecks a per-tensor scale, LLM.int8()'s
// decomposition removes most of the error, and int8 takes about a quarter of f32's bytes in the
// allocator. Read from the summary.json the lesson writes.
#include "tests/lessons/run_lesson.h"

#include <filesystem>
#include <string>
#include <vector>

TEST_CASE("lesson 02 --quick: int8 errors and memory behave as the lesson says") {
  namespace fs = std::filesystem;
  fs::path out;
  nlohmann::json s = run_lesson_quick("lesson_02", &out);
  CHECK(s["size"].get<int>() == 256);
  CHECK(s["tie_codes"].get<std::vector<int>>() == std::vector<int>{127, 0, 2, 2, 4, 0, -2, -2});
  CHECK(s["skewed_rmse_zero_point"].get<double>() < 0.6 * s["skewed_rmse_absmax"].get<double>());
  CHECK(s["rmse_per-block"].get<double>() < s["rmse_per-row"].get<double>());
  CHECK(s["rmse_per-row"].get<double>() < s["rmse_per-tensor"].get<double>());
  // one value of 128 in N(0,1) data: the per-tensor step grows ~25x (absmax ~5 -> 128); per-block barely moves
  CHECK(s["outlier_rmse_per_tensor"].get<double>() > 10 * s["no_outlier_rmse_per_tensor"].get<double>());
  CHECK(s["outlier_rmse_per_block"].get<double>() < 0.2 * s["outlier_rmse_per_tensor"].get<double>());
  CHECK(s["outlier_zeroed_fraction"].get<double>() > 0.3);
  CHECK(s["llm_int8_outlier_columns"].get<int>() == s["llm_int8_planted_columns"].get<int>());
  CHECK(s["rel_error_decomposed"].get<double>() < s["rel_error_vectorwise"].get<double>() / 3);
  CHECK(s["rel_error_vectorwise"].get<double>() < s["rel_error_per_tensor"].get<double>());
  CHECK(s["rel_error_decomposed"].get<double>() < 0.01);
  // int8 weight + f32 row absmax + f32 bias against f32 weight + bias: (n^2 + 8n) / (4n^2 + 4n)
  CHECK(s["memory_ratio"].get<double>() > 0.25);
  CHECK(s["memory_ratio"].get<double>() < 0.26);
  CHECK(s["linear8bit_rel_error"].get<double>() < 0.02);
  for (const char* f : {"skewed.csv", "block_size.csv", "block_size.svg", "outlier.csv", "outlier.svg", "llm_int8.csv", "memory.csv"})
    CHECK(fs::file_size(out / f) > 0);
}
