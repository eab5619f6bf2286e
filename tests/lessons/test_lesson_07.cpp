// Lesson 07 with --quick: under a budget that holds the model, its gradients and activations but not
// AdamW's state, plain AdamW stops with the allocator's OutOfMemory; PagedAdamW trains with the same
// losses as AdamW without a budget, bit for bit (same batches, same spike, the update chunk by chunk
// is elementwise); the spike's steps page state out for their activations; 8-bit state is ~1/4.
#include "tests/lessons/run_lesson.h"

#include <cmath>
#include <filesystem>

TEST_CASE("lesson 07 --quick: AdamW runs out of memory, PagedAdamW trains bit for bit and pages out in the spike") {
  std::filesystem::path out;
  nlohmann::json s = run_lesson_quick("lesson_07", &out);
  CHECK(s["adamw_oom"].get<bool>());
  const std::string message = s["adamw_oom_message"].get<std::string>();
  CHECK_THAT(message, Catch::Contains("out of memory on cpu") && Catch::Contains("asked for") && Catch::Contains("budget"));

  const std::vector<double> ref = s["adamw_losses"].get<std::vector<double>>(), paged = s["paged_losses"].get<std::vector<double>>();
  REQUIRE(ref.size() == s["steps"].get<size_t>());
  REQUIRE(paged.size() == ref.size());
  for (size_t i = 0; i < ref.size(); i++) {
    INFO("step " << i + 1);
    CHECK(paged[i] == ref[i]);  // bit for bit, not approximately
    CHECK(std::isfinite(ref[i]));
  }
  CHECK(s["weights_equal"].get<bool>());

  // every step's update pages (the budget holds a part of m and v), and the spike's steps send pages out for activations
  const std::vector<uint64_t> outs = s["page_outs"].get<std::vector<uint64_t>>(),
                              for_activations = s["page_outs_for_activations"].get<std::vector<uint64_t>>();
  REQUIRE(outs.size() == ref.size());
  const size_t begin = s["spike_begin"].get<size_t>(), end = s["spike_end"].get<size_t>();
  REQUIRE(begin < end);
  REQUIRE(end <= outs.size());
  for (size_t i = begin; i < end; i++) {
    INFO("spike step " << i + 1);
    CHECK(for_activations[i] > 0);
    CHECK(for_activations[i] >= for_activations[begin - 1]);  // at least what a step before the spike needed
  }
  CHECK(s["page_ins_total"].get<uint64_t>() > 0);

  // 8-bit state: 2 bytes + 8/256 a weight instead of 8, plus f32 state for the small parameters
  const double ratio = s["adamw8bit_state_bytes"].get<double>() / s["state_bytes"].get<double>();
  CHECK(ratio > 0.25);
  CHECK(ratio < 0.40);
  const std::vector<double> eight = s["adamw8bit_losses"].get<std::vector<double>>();
  REQUIRE(eight.size() == ref.size());
  for (double l : eight) CHECK(std::isfinite(l));
  CHECK(std::filesystem::exists(out / "loss_32bit_vs_8bit.svg"));
  std::filesystem::remove_all(out);
}
