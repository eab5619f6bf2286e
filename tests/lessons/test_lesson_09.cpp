// Lesson 09 with --quick: the QLoRA workflow on the tests' sharded LLaMA fixture (no --model), then on
// the GPT-2 fixture (--model), and a --model that does not exist. Checked from summary.json and the
// adapter folder: the wrapped modules are PEFT's defaults in every layer, NF4 holds the linear weights
// in under a third of f32's bytes, the validation loss falls, and the saved adapter reloads exactly.
#include "tests/lessons/run_lesson.h"

#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;

namespace {

// Runs the lesson with `args` (after --quick --out OUT); returns its exit status, its output in *log.
int run_lesson(const std::string& args, const fs::path& out, std::string* log) {
  fs::remove_all(out);
  const std::string log_path = out.string() + ".log";
  const std::string command = std::string("'") + LAB_LESSON_BINARY + "' --quick --out '" + out.string() + "' " + args + " > '" + log_path + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log_path);
  log->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// What every run checks: losses, NF4 bytes, the reloaded adapter and its files.
void check_workflow(const nlohmann::json& s, const fs::path& out, const std::set<std::string>& targets) {
  for (const char* k : {"val_loss_before", "val_loss_after", "train_loss_first", "train_loss_last"}) CHECK(std::isfinite(s[k].get<double>()));
  CHECK(s["val_loss_after"].get<double>() < s["val_loss_before"].get<double>());
  // NF4 with double quantization: 4 + 8/64 + 32/(64*256) bits a weight instead of 32
  CHECK(s["nf4_layers"].get<int64_t>() > 0);
  CHECK(s["linear_nf4_bytes"].get<double>() < s["linear_f32_bytes"].get<double>() / 3);
  CHECK(32 * s["linear_nf4_bytes"].get<double>() / s["linear_f32_bytes"].get<double>() == Approx(4.127).epsilon(0.02));
  CHECK(s["reload_maxdiff"].get<double>() <= 1e-6);
  CHECK(s["f32_base_maxdiff"].get<double>() > 0);  // the f32 base is not the NF4 base the adapter was trained on
  CHECK(s["trainable"].get<int64_t>() == s["memory_estimates"]["LoRA, f32 base"]["trainable"].get<int64_t>());
  const fs::path adapter = out / "adapter";
  REQUIRE(fs::exists(adapter / "adapter_model.safetensors"));
  const nlohmann::json config = lab::json_io::read_file(adapter / "adapter_config.json");
  const std::vector<std::string> written = config["target_modules"].get<std::vector<std::string>>();
  CHECK(std::set<std::string>(written.begin(), written.end()) == targets);
  // two tensors (A and B) for each wrapped module
  const lab::SafetensorsFile file = lab::SafetensorsFile::open((adapter / "adapter_model.safetensors").string());
  CHECK(file.entries().size() == 2 * s["wrapped"].size());
}

}  // namespace

TEST_CASE("lesson 09 --quick on the LLaMA fixture: q_proj and v_proj of every layer, NF4 bytes, the adapter reloads") {
  fs::path out;
  const nlohmann::json s = run_lesson_quick("lesson_09", &out);
  CHECK(s["fixture"].get<bool>());
  CHECK(s["family"] == "llama");
  const std::vector<std::string> wrapped = s["wrapped"].get<std::vector<std::string>>();
  CHECK(wrapped == std::vector<std::string>{"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                            "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"});
  // r 8 on q (64 -> 64) and v (64 -> 32) in 2 layers
  CHECK(s["trainable"].get<int64_t>() == 2 * 8 * ((64 + 64) + (64 + 32)));
  CHECK(s["parameters_in_files"].get<int64_t>() == 106816);
  CHECK(s["linear_kept_f32_bytes"].get<int64_t>() == 4 * 256 * 64);  // the untied lm_head stays f32
  check_workflow(s, out, {"q_proj", "v_proj"});
  CHECK(s["text_after"].get<std::string>().size() > 0);
  fs::remove_all(out);
}

TEST_CASE("lesson 09 --quick --model on the GPT-2 fixture: c_attn of every layer") {
  const fs::path out = fs::temp_directory_path() / ("loralab_test_lesson_09_gpt2_" + std::to_string(getpid()));
  std::string log;
  REQUIRE(run_lesson(std::string("--model '") + LAB_TEST_DATA_DIR + "/reference/gpt2_tiny'", out, &log) == 0);
  INFO(log);
  const nlohmann::json s = lab::json_io::read_file(out / "summary.json");
  CHECK_FALSE(s["fixture"].get<bool>());
  CHECK(s["family"] == "gpt2");
  CHECK(s["wrapped"].get<std::vector<std::string>>() == std::vector<std::string>{"h.0.attn.c_attn", "h.1.attn.c_attn"});
  CHECK(s["linear_kept_f32_bytes"].get<int64_t>() == 0);  // the head is tied to wte: no Linear left
  check_workflow(s, out, {"c_attn"});
  fs::remove_all(out);
}

TEST_CASE("lesson 09 --model on a folder that does not exist: exit 1 and one line naming it") {
  const fs::path out = fs::temp_directory_path() / ("loralab_test_lesson_09_missing_" + std::to_string(getpid()));
  std::string log;
  CHECK(run_lesson("--model /nonexistent/loralab_model", out, &log) == 1);
  INFO(log);
  CHECK_THAT(log, Catch::StartsWith("error: --model /nonexistent/loralab_model: no such folder"));
  CHECK(std::count(log.begin(), log.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(out / "summary.json"));
  fs::remove_all(out);
  fs::remove(out.string() + ".log");
}
