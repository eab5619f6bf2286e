// Lesson 05 with --quick: a 2-layer base trained in seconds, then 6 fine-tuning steps eight ways.
// What the lesson teaches and stays true at this size: LoRA on c_attn at r = 8 trains under 2% of
// the model and needs a fraction of full fine-tuning's gradient and optimizer memory; every run
// that starts from the base ends with a finite loss below the base's; an adapter file is a small
// fraction of the full checkpoint; the adapter loads exactly and merges within float rounding; and
// the second adapter is there to swap. Accuracies at 6 steps are noise: the full run's README
// table holds the real comparison, and test_lesson_05_full (label long, minutes) checks it.
#include "tests/lessons/run_lesson.h"

#include <cmath>
#include <filesystem>
#include <string>

TEST_CASE("lesson 05 --quick: LoRA trains a sliver of the model, learns, and its adapter merges and swaps") {
  namespace fs = std::filesystem;
  fs::path out;
  nlohmann::json s = run_lesson_quick("lesson_05", &out);
  const nlohmann::json& rows = s["rows"];
  const nlohmann::json &base = rows["base (not fine-tuned)"], &full = rows["full fine-tuning"], &r8 = rows["LoRA c_attn r=8"];
  for (const char* name : {"full fine-tuning", "LoRA c_attn r=1", "LoRA c_attn r=2", "LoRA c_attn r=4", "LoRA c_attn r=8", "LoRA c_attn r=16",
                           "LoRA all linear r=8", "from scratch"}) {
    INFO(name);
    REQUIRE(rows.contains(name));
    const nlohmann::json& r = rows[name];
    CHECK(r["losses"].size() == 6);
    CHECK(std::isfinite(r["val_loss"].get<double>()));
    CHECK(r["accuracy"].get<double>() >= 0);
    CHECK(r["peak_bytes"].get<int64_t>() == r["weight_bytes"].get<int64_t>() + r["grad_bytes"].get<int64_t>() +
                                                 r["optimizer_bytes"].get<int64_t>() + r["activation_bytes"].get<int64_t>());
    if (std::string(name) != "from scratch") CHECK(r["val_loss"].get<double>() < base["val_loss"].get<double>());
  }
  // c_attn at r = 8: 2 layers x 8 x (128 + 384) = 8,192 of about 455,000 parameters
  const double share = r8["trainable"].get<double>() / r8["all"].get<double>();
  CHECK(r8["trainable"].get<int64_t>() == 2 * 8 * (128 + 384));
  CHECK(share < 0.02);
  CHECK(full["trainable"].get<int64_t>() == full["all"].get<int64_t>());
  // rank doubles, trainable doubles
  CHECK(rows["LoRA c_attn r=16"]["trainable"].get<int64_t>() == 2 * r8["trainable"].get<int64_t>());
  CHECK(rows["LoRA c_attn r=1"]["trainable"].get<int64_t>() * 8 == r8["trainable"].get<int64_t>());
  // gradients and AdamW state follow what trains: 4 + 8 bytes a trainable parameter
  CHECK(r8["grad_bytes"].get<int64_t>() == 4 * r8["trainable"].get<int64_t>());
  CHECK(r8["optimizer_bytes"].get<int64_t>() == 8 * r8["trainable"].get<int64_t>());
  CHECK(r8["grad_bytes"].get<int64_t>() + r8["optimizer_bytes"].get<int64_t>() <
        (full["grad_bytes"].get<int64_t>() + full["optimizer_bytes"].get<int64_t>()) / 20);
  CHECK(r8["peak_bytes"].get<int64_t>() < full["peak_bytes"].get<int64_t>());
  // the adapter file: A and B in f32 plus a header, against the whole model's checkpoint
  CHECK(r8["file_bytes"].get<int64_t>() > 4 * r8["trainable"].get<int64_t>());
  CHECK(r8["file_bytes"].get<int64_t>() < full["file_bytes"].get<int64_t>() / 20);
  // a loaded adapter gives the trained model's logits exactly; merging changes them by float rounding only
  CHECK(s["load_max_abs_diff"].get<double>() == 0.0);
  CHECK(s["merge_max_abs_diff"].get<double>() < 1e-4);
  for (const char* key : {"default_on_task1", "default_on_task2", "count_on_task1", "count_on_task2"}) {
    INFO(key);
    const double a = s["swap"][key].get<double>();
    CHECK((a >= 0 && a <= 1));
  }
  for (const char* file : {"results.csv", "adapters/c_attn_r8/adapter_config.json", "adapters/c_attn_r8/adapter_model.safetensors",
                           "full_model/model.safetensors", "base/model/config.json"}) {
    INFO(file);
    CHECK(fs::file_size(out / file) > 0);
  }
  fs::remove_all(out);
}
