// `loralab train`: see train.h. The flags map one to one onto train::TrainOptions; this file builds
// the model and the dataset, prints what it is about to do, and runs the loop.
#include "tools/loralab/train.h"

#include "data/dataset.h"
#include "nn/causal_lm.h"
#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "nn/gpt_config.h"
#include "nn/lora.h"
#include "nn/lora_io.h"
#include "quant/nf4_checkpoint.h"
#include "tensor/allocator.h"
#include "tensor/device.h"
#include "tools/loralab/cli_checks.h"
#include "train/memory_report.h"
#include "train/model_files.h"

#include <fmt/format.h>

#include <filesystem>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::App* add_train_command(CLI::App& app, TrainCommandOptions& o) {
  CLI::App* cmd = app.add_subcommand("train", "Train a GPT (from scratch) or a GPT-2 or LLaMA checkpoint (fully, --lora or --qlora) with AdamW; resumable, Ctrl-C safe");
  cmd->footer("Exit status: 0 done, 1 failed (bad file, mismatched checkpoint, non-finite loss), 2 bad command line, 130 interrupted (checkpoint saved).");
  train::TrainOptions& t = o.train;
  t.out_dir = "runs/train";
  t.seq_len = 0;  // the model's context
  CLI::Option* model = cmd->add_option("--model", o.model, "Start from this checkpoint folder (config.json + model.safetensors)")
                           ->check(existing_folder("a checkpoint folder with config.json and model.safetensors"));
  CLI::Option* config = cmd->add_option("--config", o.config, "Start fresh from this config.json (Hugging Face GPT-2 fields)")
                            ->check(existing_file("a config.json"));
  model->excludes(config);
  std::vector<CLI::Option*> sizes = {
      cmd->add_option("--n-layer", o.n_layer, "Fresh model: transformer blocks (default 4)")->check(whole_number_at_least(1)),
      cmd->add_option("--n-head", o.n_head, "Fresh model: attention heads (default 4)")->check(whole_number_at_least(1)),
      cmd->add_option("--n-embd", o.n_embd, "Fresh model: width (default 128)")->check(whole_number_at_least(1)),
      cmd->add_option("--context", o.context, "Fresh model: context length, n_positions (default 128)")->check(whole_number_at_least(2))};
  for (CLI::Option* s : sizes) s->excludes(model), s->excludes(config);
  CLI::Option* text = cmd->add_option("--data,--text", o.data.text_file, "Text file to train on, one token a byte (default: the generated corpus)")
                          ->check(existing_file("a text file"));
  CLI::Option* tokens = cmd->add_option("--tokens", o.data.token_file, "File of whitespace-separated token ids to train on")
                            ->check(existing_file("a file of token ids"));
  text->excludes(tokens);
  cmd->add_option("--corpus-bytes", o.data.corpus_bytes, "Size of the generated corpus")->check(whole_number_at_least(10000))->capture_default_str();
  cmd->add_option("--out", t.out_dir, "Output folder: loss.csv, loss.svg, checkpoint.safetensors, model/")->capture_default_str();
  cmd->add_option("--steps", t.steps, "Optimizer steps in all")->check(whole_number_at_least(1))->capture_default_str();
  cmd->add_option("--batch", t.batch_size, "Sequences per micro-batch")->check(whole_number_at_least(1))->capture_default_str();
  cmd->add_option("--seq-len", t.seq_len, "Tokens per sequence (at most the context; default: the context)")->check(whole_number_at_least(1));
  cmd->add_option("--accum", t.accum, "Micro-batches per optimizer step (gradient accumulation)")->check(whole_number_at_least(1))->capture_default_str();
  cmd->add_option("--lr", t.lr, "Peak learning rate, reached after warmup")->check(finite_at_least(1e-12))->capture_default_str();
  cmd->add_option("--min-lr", t.min_lr, "Learning rate at the end of the cosine")->check(finite_at_least(0))->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Steps of linear warmup (default: a tenth of --steps, at most 100)")->check(whole_number_at_least(0));
  cmd->add_option("--weight-decay", t.weight_decay, "AdamW's decoupled weight decay")->check(finite_at_least(0))->capture_default_str();
  cmd->add_option("--clip", t.clip, "Clip the global gradient norm to this (0: off)")->check(finite_at_least(0))->capture_default_str();
  cmd->add_option("--eval-every", t.eval_every, "Validation loss every N steps and at the end (0: never)")->check(whole_number_at_least(0))->capture_default_str();
  cmd->add_option("--eval-batches", t.eval_batches, "Validation batches each time")->check(whole_number_at_least(1))->capture_default_str();
  cmd->add_option("--save-every", t.save_every, "Checkpoint every N steps (0: only at the end and on Ctrl-C)")->check(whole_number_at_least(0))->capture_default_str();
  cmd->add_option("--stop-at", t.stop_at, "Save and stop once this step is done (resume later with the same command, without it)")
      ->check(whole_number_at_least(1));
  cmd->add_option("--seed", t.seed, "Seed of the initial weights, the batches and dropout")->capture_default_str();
  cmd->add_option("--device", o.device, "Where to train: cpu, cuda or cuda:N")->check(usable_device())->capture_default_str();
  CLI::Option* resume = cmd->add_flag("--resume", o.resume, "Resume OUT/checkpoint.safetensors, and fail if there is none (the default resumes when it exists)");
  CLI::Option* fresh = cmd->add_flag("--fresh", t.fresh, "Start over, overwriting OUT/checkpoint.safetensors");
  resume->excludes(fresh);
  CLI::Option* lora = cmd->add_flag("--lora", o.lora, "Train LoRA adapters only (the base frozen); OUT/adapter/ in PEFT's format");
  CLI::Option* qlora = cmd->add_flag("--qlora", o.qlora, "QLoRA: the base's linear layers to NF4 (double quantized, block 64), then LoRA");
  lora->excludes(qlora);
  std::vector<CLI::Option*> lora_flags = {
      cmd->add_option("--lora-r", o.lora_r, "LoRA rank")->check(whole_number_at_least(1))->capture_default_str(),
      cmd->add_option("--lora-alpha", o.lora_alpha, "LoRA alpha (scaling alpha / r)")->check(finite_at_least(1e-12))->capture_default_str(),
      cmd->add_option("--lora-dropout", o.lora_dropout, "Dropout on LoRA's input")->check(CLI::Range(0.0, 0.99))->capture_default_str(),
      cmd->add_option("--target", o.targets, "Modules to adapt, by name or suffix (PEFT's target_modules; default: c_attn for GPT-2, q_proj and v_proj for LLaMA)")};
  cmd->add_flag("--dry-run", o.dry_run, "Read config.json and the headers only; print the memory of full fine-tuning, LoRA and QLoRA, and stop")
      ->needs(model);
  cmd->callback([&o] {
    if ((o.lora || o.qlora) && o.model.empty())
      throw CLI::ValidationError("--lora/--qlora", "fine-tunes a pretrained model: give --model DIR");
    if (!o.lora && !o.qlora && !o.dry_run && (!o.targets.empty() || o.lora_r != 8))
      throw CLI::ValidationError("--target/--lora-r", "only mean something with --lora or --qlora");
  });
  return cmd;
}

namespace {

// --dry-run: the memory of one fine-tuning step, from config.json and the headers alone (train/memory_report.h).
void print_dry_run(const TrainCommandOptions& o, const train::ModelInfo& m, const std::vector<std::string>& targets) {
  const int64_t B = o.train.batch_size, T = o.train.seq_len > 0 ? o.train.seq_len : m.context;
  const std::vector<std::string> linear_targets = train::targeted_linears(m.shape, targets);
  fmt::print("model       {}: {}\n", m.dir, m.summary);
  fmt::print("parameters  {} in the files ({}); by the accounting {}, of which {} in the blocks' linear layers\n", m.parameters,
             m.dtypes.size() == 1 ? m.dtypes.begin()->first : std::string("mixed dtypes"), train::total_parameters(m.shape),
             train::linear_parameters(m.shape));
  fmt::print("step        batch {} x {} tokens (--batch, --seq-len), AdamW, LoRA r {} on {}\n\n", B, T, o.lora_r, fmt::join(linear_targets, ","));
  train::print_memory_tables(train::finetune_memory_tables(m.shape, linear_targets, o.lora_r, B, T));
  fmt::print("nothing was loaded or trained (--dry-run); leave it out to train\n");
}

}  // namespace

int run_train(const TrainCommandOptions& o) {
  train::TrainOptions t = o.train;
  const std::string checkpoint = t.out_dir + "/checkpoint.safetensors";
  LAB_CHECK(!o.resume || fs::exists(checkpoint), "--resume: there is no {} to resume (HINT: the --out of the run to continue, or leave out --resume)",
            checkpoint);
  const Device device = parse_device(o.device);
  require_device(device);
  std::vector<std::string> targets = o.targets;
  if (!o.model.empty() && targets.empty()) targets = train::read_model_config(o.model).lora_targets;
  if (o.dry_run) {
    print_dry_run(o, train::read_model_info(o.model), targets);
    return 0;
  }

  // The model: a checkpoint folder (GPT-2 or LLaMA), a config.json, or the tiny config with the size flags.
  std::shared_ptr<nn::CausalLM> model;
  if (!o.model.empty()) {
    model = train::load_model(o.model, device);
    fmt::print("model: {}: {} ({} parameters)\n", o.model, model->summary(), model->num_parameters());
  } else {
    nn::GPTConfig c = o.config.empty() ? nn::tiny_gpt_config() : nn::load_gpt_config(o.config);
    if (o.n_layer) c.n_layer = o.n_layer;
    if (o.n_head) c.n_head = o.n_head;
    if (o.n_embd) c.n_embd = o.n_embd;
    if (o.context) c.n_positions = o.context;
    c.validate(o.config.empty() ? "the model flags" : o.config + " with the size flags");
    Generator gen(t.seed);
    model = std::make_shared<nn::GPT>(c, gen);
    model->to(device);
    fmt::print("model: a new GPT, {} layers, {} heads, width {}, context {}, vocabulary {} ({} parameters)\n", c.n_layer, c.n_head, c.n_embd,
               c.n_positions, c.vocab_size, model->num_parameters());
  }
  nn::LoraConfig lora;
  if (o.lora || o.qlora) {
    if (o.qlora) {  // as transformers' BitsAndBytesConfig(load_in_4bit, nf4, double quant): every Linear but the LM head
      const int64_t n = quant::quantize_for_qlora(*model, 64, true);
      fmt::print("qlora: {} linear layers to NF4 (block 64, double quantization)\n", n);
    }
    lora.r = o.lora_r, lora.lora_alpha = o.lora_alpha, lora.lora_dropout = o.lora_dropout, lora.target_modules = targets;
    Generator lora_gen(t.seed + 1);
    const nn::InjectReport r = nn::inject_lora(*model, lora, lora_gen);
    fmt::print("lora: r {}, alpha {}, on {} modules ({}); {}\n", lora.r, lora.lora_alpha, r.wrapped.size(), fmt::join(targets, ", "),
               nn::trainable_parameters_line(*model));
    t.save_model = false;  // the adapter is what this run makes: OUT/adapter/
  }
  model->name_parameters();
  if (t.seq_len == 0) t.seq_len = model->context_length();
  t.warmup = o.warmup >= 0 ? o.warmup : std::min<int64_t>(100, t.steps / 10);

  train::DataSource source = o.data;
  source.corpus_seed = t.seed;
  const bool tokenizer = !o.model.empty() && o.data.token_file.empty() && train::has_tokenizer_files(o.model);
  train::LoadedTokens loaded = train::load_tokens(source, tokenizer ? 256 : model->vocab_size());
  if (tokenizer) {  // the model's own tokenizer instead of bytes
    std::unique_ptr<data::Tokenizer> tk = train::tokenizer_for(o.model, model->vocab_size(), "train");
    loaded.tokens = tk->encode(loaded.text);
    loaded.description += ", " + tk->describe();
  }
  data::TokenDataset dataset(std::move(loaded.tokens), 0.1, loaded.description);
  fmt::print("data: {}: {} tokens to train on, {} to validate\n", loaded.description, dataset.train_tokens(), dataset.val_tokens());
  fmt::print("training: {} steps of {} x {} x {} tokens on {}, lr {} -> {} (warmup {}), weight decay {}, clip {}; writing {}\n", t.steps,
             t.accum, t.batch_size, t.seq_len, o.device, t.lr, t.min_lr, t.warmup, t.weight_decay, t.clip, t.out_dir);

  train::TrainResult r = train::train_causal_lm(*model, dataset, t);
  if (r.status == train::TrainStatus::interrupted) return 130;
  if (r.status == train::TrainStatus::stopped) return 0;
  fmt::print("done: step {}, train loss {:.4f} (first {:.4f}), val loss {:.4f}, {:.0f} tokens/s; peak memory {}\n", r.step, r.last_train_loss,
             r.first_train_loss, r.val_loss, r.tokens_per_s, format_bytes(memory_stats(device).peak));
  if (o.lora || o.qlora) {
    nn::AdapterConfig adapter;
    adapter.lora = lora;
    adapter.base_model_name_or_path = o.model;
    adapter.fan_in_fan_out = model->family() == "gpt2";  // GPT-2's Conv1D, as PEFT sets it
    nn::save_adapter(*model, adapter, t.out_dir + "/adapter");
    fmt::print("adapter: {}/adapter (PEFT's format: --adapter in eval and generate, or `loralab merge`)\n", t.out_dir);
  } else {
    fmt::print("model: {}/model (load it with --model in eval, generate, or another train)\n", t.out_dir);
  }
  return 0;
}

}  // namespace lab::tools
