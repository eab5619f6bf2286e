// `loralab eval`: see eval.h. The config is read first, so that a wrong vocabulary or a window
// longer than the context is reported before any weight is loaded.
#include "tools/loralab/eval.h"

#include "autograd/autograd.h"
#include "data/byte_tokenizer.h"
#include "data/text_file.h"
#include "nn/causal_lm.h"
#include "nn/lora_io.h"
#include "tensor/factory.h"
#include "train/progress.h"
#include "tools/loralab/cli_checks.h"
#include "train/model_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::App* add_eval_command(CLI::App& app, EvalOptions& o) {
  CLI::App* cmd = app.add_subcommand("eval", "Mean cross-entropy (nats/token) and perplexity of a GPT-2 or LLaMA checkpoint on a text or token-id file");
  cmd->add_option("--model", o.model, "Checkpoint folder (config.json + model.safetensors or its shards, Hugging Face GPT-2 or LLaMA layout)")
      ->required()
      ->check(existing_folder("a checkpoint folder with config.json and model.safetensors"));
  cmd->add_option("--adapter", o.adapter, "LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT writes) to apply")
      ->check(existing_folder("an adapter folder with adapter_config.json and adapter_model.safetensors"));
  cmd->add_option("--text", o.text, "Text file, tokenized with the folder's tokenizer.json (or vocab.json + merges.txt), else one token a byte (vocab_size 256)")
      ->check(existing_file("a text file"));
  cmd->add_option("--tokens", o.tokens, "File of whitespace-separated token ids, each in [0, vocab_size)")
      ->check(existing_file("a file of whitespace-separated token ids"));
  cmd->add_option("--seq-len", o.seq_len, "Window length in tokens (default: the model's context, n_positions)")
      ->check(whole_number_at_least(1));
  cmd->add_option("--batch", o.batch, "Windows per forward pass")->check(whole_number_at_least(1))->capture_default_str();
  cmd->add_option("--device", o.device, "Where to run: cpu, cuda or cuda:N")->check(usable_device())->capture_default_str();
  cmd->callback([&o] {
    if (o.text.empty() == o.tokens.empty())
      throw CLI::ValidationError("--text/--tokens", fmt::format("give exactly one of --text FILE (bytes) or --tokens FILE (token ids), got {}",
                                                                o.text.empty() ? "neither" : "both"));
  });
  return cmd;
}

WindowLoss windowed_loss(nn::CausalLM& model, const std::vector<int64_t>& tokens, int64_t seq_len, int64_t batch,
                         const std::string& source, const std::function<void(int64_t, double)>& on_batch) {
  const int64_t context = model.context_length();
  LAB_CHECK(seq_len >= 1 && seq_len <= context,
            "window of {} tokens does not fit the model's context of {} (n_positions) (HINT: --seq-len {} or less)", seq_len,
            context, context);
  LAB_CHECK(batch >= 1, "batch must be at least 1, got {}", batch);
  LAB_CHECK(tokens.size() >= 2, "{}: {} token{}, need at least 2 (one to read and one to predict)", source, tokens.size(),
            tokens.size() == 1 ? "" : "s");
  struct EvalMode {  // eval mode while scoring, then back to what it was, even on an error
    nn::CausalLM& m;
    bool was = m.is_training();
    explicit EvalMode(nn::CausalLM& model) : m(model) { m.eval(); }
    ~EvalMode() { m.train(was); }
  } eval_mode(model);
  ag::NoGradGuard no_grad;
  const Device device = model.device();

  WindowLoss r;
  r.predicted = int64_t(tokens.size()) - 1;
  const int64_t full = r.predicted / seq_len, rest = r.predicted % seq_len;
  r.windows = full + (rest > 0 ? 1 : 0);
  double total = 0;  // sum of the per-token losses, nats
  int64_t done = 0;  // windows and predicted tokens scored so far
  int64_t scored = 0;
  // `count` windows of `len` tokens from window `first` on: ids = tokens[k T + t], targets = tokens[k T + t + 1]
  auto add_windows = [&](int64_t first, int64_t count, int64_t len) {
    std::vector<int64_t> ids(size_t(count * len)), targets(size_t(count * len));
    for (int64_t w = 0; w < count; w++)
      for (int64_t t = 0; t < len; t++) {
        size_t at = size_t((first + w) * seq_len + t);
        ids[size_t(w * len + t)] = tokens[at];
        targets[size_t(w * len + t)] = tokens[at + 1];
      }
    Tensor loss = model.loss(from_vector(ids, {count, len}, device), from_vector(targets, {count, len}, device));
    // loss is the mean over count * len targets: back to their sum
    total += loss.item<double>() * double(count * len);
    done += count;
    scored += count * len;
    if (on_batch) on_batch(done, total / double(scored));
  };
  for (int64_t k = 0; k < full; k += batch) add_windows(k, std::min(batch, full - k), seq_len);
  if (rest > 0) add_windows(full, 1, rest);
  r.loss = total / double(r.predicted);
  return r;
}

void run_eval(const EvalOptions& o) {
  const Device device = parse_device(o.device);
  const std::string config_path = (fs::path(o.model) / "config.json").string();
  const train::ModelInfo config = train::read_model_config(o.model);  // GPT-2 or LLaMA, from config.json alone
  const bool text = !o.text.empty();
  std::unique_ptr<data::Tokenizer> tokenizer;
  if (text) tokenizer = train::tokenizer_for(o.model, config.vocab_size, "--text makes one token of each byte");
  const int64_t seq_len = o.seq_len > 0 ? o.seq_len : config.context;
  LAB_CHECK(seq_len <= config.context, "--seq-len {} is longer than the model's context: {} is {} in {} (HINT: --seq-len {} or less)",
            seq_len, config.family == "gpt2" ? "n_positions" : "max_position_embeddings", config.context, config_path, config.context);
  const std::string source = text ? o.text : o.tokens;
  const std::vector<int64_t> tokens = text ? tokenizer->encode(data::read_text_file(o.text)) : data::read_token_ids(o.tokens, config.vocab_size);
  std::shared_ptr<nn::CausalLM> model = train::load_model(o.model, device);
  nn::AdapterConfig adapter;
  if (!o.adapter.empty()) {
    Generator gen(0);  // draws the A that the adapter's own A then overwrites
    adapter = nn::load_adapter(*model, o.adapter, gen);
  }

  // A progress line on stderr (train/progress.h) when the file takes more than a few forwards.
  const int64_t windows = (int64_t(tokens.size()) - 1 + seq_len - 1) / seq_len;
  std::unique_ptr<train::Progress> progress;
  if (windows > 100) progress = std::make_unique<train::Progress>(windows, "eval");
  auto on_batch = [&progress](int64_t done, double loss) {
    if (progress) progress->update(done, {{"loss", loss}});
  };
  WindowLoss r = windowed_loss(*model, tokens, seq_len, o.batch, source, on_batch);
  if (progress) progress->finish();
  int64_t last = r.predicted - (r.windows - 1) * seq_len;
  fmt::print("model       {}: {}, {} parameters\n", o.model, model->summary(), model->num_parameters());
  if (!o.adapter.empty())
    fmt::print("adapter     {}: r {}, lora_alpha {}, scaling {:.6g}, {} parameters, applied unmerged\n", o.adapter, adapter.lora.r,
               adapter.lora.lora_alpha, adapter.lora.scaling(), model->num_parameters(/*trainable_only=*/true));
  fmt::print("data        {}: {} tokens ({})\n", source, tokens.size(), !text ? std::string("token ids") : train::has_tokenizer_files(o.model) ? "text, " + tokenizer->describe() : std::string("text, one token per byte"));
  fmt::print("windows     {} of {} tokens{}, batch {}, on {}\n", r.windows, seq_len,
             last == seq_len ? std::string() : fmt::format(" (the last {})", last), o.batch, device.str());
  // perplexity = exp(mean cross-entropy): the number of equally likely tokens that would be as surprising
  fmt::print("loss        {:.6f} nats/token over {} predicted tokens\n", r.loss, r.predicted);
  fmt::print("perplexity  {:.4f}\n", std::exp(r.loss));
}

}  // namespace lab::tools
