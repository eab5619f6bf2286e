// Lesson 03 with --quick, checked by the numbers it writes (summary.json): the derived NF4 table is
// bitsandbytes' to the bit, the errors rank int8 < NF4 < FP4 on normal data with NF4 under its
// ceiling, double quantization's bits per weight are measured as computed, and the allocator's bytes
// for the four copies of the layer are what their formats say.
#include "tests/lessons/run_lesson.h"

#include <filesystem>
#include <string>

TEST_CASE("lesson 03 --quick: the NF4 table, the error ranking, bits per weight and bytes from the allocator") {
  namespace fs = std::filesystem;
  fs::path out;
  nlohmann::json s = run_lesson_quick("lesson_03", &out);
  CHECK(s["size"].get<int>() == 256);
  CHECK(s["table_bit_equal"].get<bool>());
  // On N(0, 1) at block 64: int8 far below both 4-bit formats, NF4 below FP4 and under its ceiling.
  CHECK(s["rmse_int8"].get<double>() < 0.0065);
  CHECK(s["rmse_int8"].get<double>() < s["rmse_nf4"].get<double>());
  CHECK(s["rmse_nf4"].get<double>() < s["rmse_fp4"].get<double>());
  CHECK(s["rmse_nf4"].get<double>() < 0.094);
  CHECK(s["mean_abs_nf4"].get<double>() < 0.0745);
  CHECK(s["code_entropy_nf4"].get<double>() > 3.85);  // NF4 uses its 16 codes almost equally often
  CHECK(s["code_entropy_fp4"].get<double>() < s["code_entropy_nf4"].get<double>());
  // 65536 weights: every count divides, so measured equals computed exactly.
  CHECK(s["bits_plain"].get<double>() == 4.5);
  CHECK(s["bits_dq"].get<double>() == 4.126953125);
  CHECK(s["measured_bits_plain"].get<double>() == s["bits_plain"].get<double>());
  CHECK(s["measured_bits_dq"].get<double>() == s["bits_dq"].get<double>());
  CHECK(s["rmse_w_dq"].get<double>() < 1.02 * s["rmse_w_plain"].get<double>());
  const double n = 256.0 * 256.0;
  CHECK(s["bytes_f32"].get<double>() == 4 * n);
  CHECK(s["bytes_bf16"].get<double>() == 2 * n);
  CHECK(s["bytes_int8"].get<double>() == n + 4 * n / 64);
  CHECK(s["bytes_nf4"].get<double>() == n / 2 + 4 * n / 64);
  CHECK(s["bytes_nf4_dq"].get<double>() == n / 2 + n / 64 + 4 * n / 64 / 256);
  for (const char* file : {"errors.csv", "memory.csv", "histogram_nf4.svg", "histogram_fp4.svg"}) CHECK(fs::file_size(out / file) > 0);
}
