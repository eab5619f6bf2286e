// Lesson 06 with --quick: full fine-tuning, LoRA and QLoRA of a small base (trained by the lesson,
// since lesson 04's quick model has too short a context). The NF4 base holds under a third of the
// f32 base's bytes (linear weights at ~4.13 bits instead of 32), every loss is finite and falls, and
// the scale-up figures for LLaMA land where the known claims put them.
#include "tests/lessons/run_lesson.h"

#include <cmath>
#include <filesystem>

TEST_CASE("lesson 06 --quick: QLoRA's base under a third of LoRA's bytes, losses finite and falling") {
  std::filesystem::path out;
  nlohmann::json s = run_lesson_quick("lesson_06", &out);
  const nlohmann::json &full = s["full"], &lora = s["LoRA"], &qlora = s["QLoRA"];
  CHECK(qlora["weight_bytes"].get<double>() < lora["weight_bytes"].get<double>() / 3);
  CHECK(lora["weight_bytes"].get<double>() == full["weight_bytes"].get<double>());
  // linear weights: 4 + 8/64 + 32/(64*256) bits instead of 32
  CHECK(32 * qlora["linear_weight_bytes"].get<double>() / lora["linear_weight_bytes"].get<double>() == Approx(4.127).epsilon(0.01));
  CHECK(qlora["trainable"] == lora["trainable"]);
  CHECK(lora["trainable"].get<int64_t>() < full["trainable"].get<int64_t>() / 4);
  for (const char* method : {"full", "LoRA", "QLoRA"}) {
    INFO(method);
    const std::vector<double> losses = s[method]["losses"].get<std::vector<double>>();
    REQUIRE(losses.size() == s["steps"].get<size_t>());
    for (double l : losses) CHECK(std::isfinite(l));
    // each step's loss is one batch's: compare the means of the first and the last quarter
    REQUIRE(losses.size() >= 8);
    const size_t q = losses.size() / 4;
    double first = 0, last = 0;
    for (size_t i = 0; i < q; i++) first += losses[i], last += losses[losses.size() - 1 - i];
    CHECK(last < first);
    CHECK(std::isfinite(s[method]["test_loss"].get<double>()));
    CHECK(s[method]["peak_bytes"].get<double>() > 0);
  }
  // QLoRA's step needs less memory than LoRA's, which needs less than full fine-tuning's
  CHECK(qlora["peak_bytes"].get<double>() < lora["peak_bytes"].get<double>());
  // the scale-up section: LLaMA-7B LoRA (q, v) within the "16-24 GB" claim, QLoRA within "8-16 GB", 65B QLoRA under 48 GB
  CHECK(s["llama7b_lora_qv_gb"].get<double>() > 16);
  CHECK(s["llama7b_lora_qv_gb"].get<double>() < 24);
  CHECK(s["llama7b_qlora_gb"].get<double>() > 8);
  CHECK(s["llama7b_qlora_gb"].get<double>() < 16);
  CHECK(s["llama65b_qlora_gb"].get<double>() < 48);
  CHECK(s["llama7b_full_gb"].get<double>() > 100);
  std::filesystem::remove_all(out);
}
