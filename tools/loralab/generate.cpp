// `loralab generate`: see generate.h.
#include "tools/loralab/generate.h"

#include "data/byte_tokenizer.h"
#include "nn/gpt_checkpoint.h"
#include "nn/gpt_config.h"
#include "nn/lora_io.h"
#include "nn/sample.h"
#include "tools/loralab/cli_checks.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::App* add_generate_command(CLI::App& app, GenerateOptions& o) {
  CLI::App* cmd = app.add_subcommand("generate", "Continue a text prompt with a byte-level GPT checkpoint (vocab_size 256)");
  cmd->add_option("--model", o.model, "Checkpoint folder (config.json + model.safetensors, Hugging Face GPT-2 layout)")
      ->required()
      ->check(existing_folder("a checkpoint folder with config.json and model.safetensors"));
  cmd->add_option("--adapter", o.adapter, "LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT writes) to apply")
      ->check(existing_folder("an adapter folder with adapter_config.json and adapter_model.safetensors"));
  cmd->add_option("--prompt", o.prompt, "The text to continue (at least one byte)")
      ->required()
      ->check(CLI::Validator([](std::string& s) { return s.empty() ? std::string("must not be empty") : std::string(); }, ""));
  cmd->add_option("--max-new-tokens", o.max_new_tokens, "How many tokens (bytes) to add")
      ->check(whole_number_at_least(1))
      ->capture_default_str();
  cmd->add_option("--temperature", o.temperature, "Divides the logits before sampling; 0 is greedy (argmax)")
      ->check(finite_at_least(0))
      ->capture_default_str();
  cmd->add_option("--top-k", o.top_k, "Sample among the k most likely tokens only; 0 keeps them all")
      ->check(whole_number_at_least(0))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the draws: the same seed gives the same text")
      ->check(whole_number_at_least(0))
      ->capture_default_str();
  cmd->add_option("--device", o.device, "Where to run: cpu, cuda or cuda:N")->check(usable_device())->capture_default_str();
  return cmd;
}

void run_generate(const GenerateOptions& o) {
  const Device device = parse_device(o.device);
  const std::string config_path = (fs::path(o.model) / "config.json").string();
  const nn::GPTConfig config = nn::load_gpt_config(config_path);
  LAB_CHECK(config.vocab_size == data::kByteVocab,
            "generate reads --prompt as bytes, so it needs a byte-level model (vocab_size {}); {} has vocab_size {} "
            "(HINT: loralab has no other tokenizer yet; `loralab eval --tokens FILE` scores token ids of any vocabulary)",
            data::kByteVocab, config_path, config.vocab_size);
  LAB_CHECK(o.top_k <= config.vocab_size, "--top-k {} is more than the vocabulary of {} tokens (HINT: --top-k 0 keeps every token)",
            o.top_k, config.vocab_size);
  std::shared_ptr<nn::GPT> model = nn::load_gpt(o.model, device);
  if (!o.adapter.empty()) {
    Generator gen(0);  // draws the A that the adapter's own A then overwrites
    nn::load_adapter(*model, o.adapter, gen);
  }

  nn::SampleOptions sample;
  sample.temperature = o.temperature;
  sample.top_k = o.top_k;
  sample.seed = o.seed;
  fmt::print("{}", o.prompt);
  std::fflush(stdout);
  // generate() asks after each new token whether to stop: the place to print it as it comes.
  auto print_token = [](int64_t token) {
    std::fputc(int(token), stdout);
    std::fflush(stdout);
    return false;  // never stop early: max_new_tokens decides
  };
  nn::generate(*model, data::encode_bytes(o.prompt), o.max_new_tokens, sample, print_token);
  fmt::print("\n");
}

}  // namespace lab::tools
