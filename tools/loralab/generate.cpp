// `loralab generate`: see generate.h.
#include "tools/loralab/generate.h"

#include "nn/causal_lm.h"
#include "nn/lora_io.h"
#include "nn/sample.h"
#include "tools/loralab/cli_checks.h"
#include "train/model_files.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::App* add_generate_command(CLI::App& app, GenerateOptions& o) {
  CLI::App* cmd = app.add_subcommand("generate", "Continue a text prompt with a GPT-2 or LLaMA checkpoint (its tokenizer, or bytes), with a KV cache");
  cmd->add_option("--model", o.model, "Checkpoint folder (config.json + model.safetensors or its shards, Hugging Face GPT-2 or LLaMA layout)")
      ->required()
      ->check(existing_folder("a checkpoint folder with config.json and model.safetensors"));
  cmd->add_option("--adapter", o.adapter, "LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT writes) to apply")
      ->check(existing_folder("an adapter folder with adapter_config.json and adapter_model.safetensors"));
  cmd->add_option("--prompt", o.prompt, "The text to continue (at least one byte)")
      ->required()
      ->check(CLI::Validator([](std::string& s) { return s.empty() ? std::string("must not be empty") : std::string(); }, ""));
  cmd->add_option("--max-new-tokens", o.max_new_tokens, "How many tokens to add")
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
  cmd->add_flag("--no-kv-cache", o.no_kv_cache, "Re-read the whole window for every token (the reference the KV cache matches, token for token)");
  cmd->add_option("--device", o.device, "Where to run: cpu, cuda or cuda:N")->check(usable_device())->capture_default_str();
  return cmd;
}

void run_generate(const GenerateOptions& o) {
  const Device device = parse_device(o.device);
  const train::ModelInfo config = train::read_model_config(o.model);  // GPT-2 or LLaMA, from config.json alone
  std::unique_ptr<data::Tokenizer> tokenizer = train::tokenizer_for(o.model, config.vocab_size, "generate reads --prompt as bytes");
  LAB_CHECK(o.top_k <= config.vocab_size, "--top-k {} is more than the vocabulary of {} tokens (HINT: --top-k 0 keeps every token)",
            o.top_k, config.vocab_size);
  std::shared_ptr<nn::CausalLM> model = train::load_model(o.model, device);
  if (!o.adapter.empty()) {
    Generator gen(0);  // draws the A that the adapter's own A then overwrites
    nn::load_adapter(*model, o.adapter, gen);
  }

  nn::SampleOptions sample;
  sample.temperature = o.temperature;
  sample.top_k = o.top_k;
  sample.seed = o.seed;
  sample.kv_cache = !o.no_kv_cache;
  const std::vector<int64_t> prompt = tokenizer->encode(o.prompt);
  LAB_CHECK(!prompt.empty(), "generate: the tokenizer ({}) made no tokens of the prompt", tokenizer->describe());
  fmt::print("{}", o.prompt);
  std::fflush(stdout);
  // generate() asks after each new token whether to stop: the place to print it as it comes. The text
  // of all new tokens is decoded each time and what was not printed yet goes out (a token may end
  // in the middle of a UTF-8 character, or a decoder may join tokens).
  std::vector<int64_t> fresh;
  std::string printed;
  auto print_token = [&](int64_t token) {
    fresh.push_back(token);
    const std::string text = tokenizer->decode(fresh);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
      std::fwrite(text.data() + printed.size(), 1, text.size() - printed.size(), stdout);
      std::fflush(stdout);
      printed = text;
    }
    return false;  // never stop early: max_new_tokens decides
  };
  nn::generate(*model, prompt, o.max_new_tokens, sample, print_token);
  const std::string all = tokenizer->decode(fresh);
  if (all.compare(0, printed.size(), printed) == 0) std::fwrite(all.data() + printed.size(), 1, all.size() - printed.size(), stdout);
  fmt::print("\n");
}

}  // namespace lab::tools
