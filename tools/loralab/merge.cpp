// `loralab merge`: see merge.h. The probe batch is 2 windows of min(16, n_positions) ids drawn
// from a fixed seed, so the printed difference repeats from run to run.
#include "tools/loralab/merge.h"

#include "autograd/autograd.h"
#include "nn/causal_lm.h"
#include "nn/lora_io.h"
#include "tensor/factory.h"
#include "tensor/random.h"
#include "tools/loralab/cli_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::App* add_merge_command(CLI::App& app, MergeOptions& o) {
  CLI::App* cmd = app.add_subcommand("merge", "Merge a LoRA adapter (PEFT's folder) into its base checkpoint (GPT-2 or LLaMA) and write a plain checkpoint");
  cmd->add_option("--model", o.model, "Base checkpoint folder (config.json + model.safetensors or its shards, Hugging Face GPT-2 or LLaMA layout)")
      ->required()
      ->check(existing_folder("a checkpoint folder with config.json and model.safetensors"));
  cmd->add_option("--adapter", o.adapter, "Adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT's save_pretrained writes)")
      ->required()
      ->check(existing_folder("an adapter folder with adapter_config.json and adapter_model.safetensors"));
  cmd->add_option("--out", o.out, "Folder for the merged checkpoint (created if missing; its config.json and model.safetensors are replaced)")
      ->required()
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            std::error_code ec;
            const fs::file_status st = fs::status(s, ec);
            if (fs::exists(st) && !fs::is_directory(st)) return fmt::format("{} is a file, expected a folder to write the merged checkpoint in", s);
            return std::string();
          },
          "DIR"));
  return cmd;
}

void run_merge(const MergeOptions& o) {
  std::shared_ptr<nn::CausalLM> model = nn::load_causal_lm(o.model);
  model->eval();
  Generator gen(0);  // draws the A that the adapter's own A then overwrites
  const nn::AdapterConfig adapter = nn::load_adapter(*model, o.adapter, gen);

  // The probe: 2 windows of random ids, the same every run.
  Generator probe_gen(1234);
  const int64_t T = std::min<int64_t>(16, model->context_length());
  std::vector<int64_t> ids(size_t(2 * T));
  for (int64_t& id : ids) id = int64_t(probe_gen.next_u32() % uint32_t(model->vocab_size()));
  const Tensor probe = from_vector(ids, {2, T});
  ag::NoGradGuard no_grad;
  const std::vector<float> unmerged = model->forward(probe).to_vector<float>();

  const std::vector<std::string> layers = nn::merge_and_unload(*model);
  const std::vector<float> merged = model->forward(probe).to_vector<float>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < merged.size(); i++) {
    diff = std::max(diff, std::fabs(double(merged[i]) - double(unmerged[i])));
    scale = std::max(scale, std::fabs(double(unmerged[i])));
  }
  nn::save_causal_lm(*model, o.out);

  const nn::LoraConfig& l = adapter.lora;
  std::string targets = l.target_regex;
  if (targets.empty())
    for (const std::string& t : l.target_modules) targets += fmt::format("{}{}", targets.empty() ? "" : ", ", t);
  fmt::print("model       {}: {}\n", o.model, model->summary());
  fmt::print("adapter     {}: r {}, lora_alpha {}, scaling {:.6g}{}, target_modules {}\n", o.adapter, l.r, l.lora_alpha, l.scaling(),
             l.use_rslora ? " (rsLoRA: alpha / sqrt(r))" : "", targets);
  fmt::print("merged      {} layers: W += scaling * B A ({} ... {})\n", layers.size(), layers.front(), layers.back());
  // merging is exact in real numbers; in f32 only the rounding of W + scaling B A differs
  fmt::print("max |merged - unmerged| logits: {:.3g} (largest logit {:.3g}) on a probe batch of 2 x {} ids\n", diff, scale, T);
  fmt::print("wrote       {}/config.json, {}/model.safetensors ({} parameters)\n", o.out, o.out, model->num_parameters());
}

}  // namespace lab::tools
