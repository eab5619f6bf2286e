// `loralab train`: see train.h. The flags map one to one onto train::TrainOptions; this file builds
// the model and the dataset, prints what it is about to do, and runs the loop.
#include "tools/loralab/train.h"

#include "data/dataset.h"
#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "nn/gpt_config.h"
#include "tensor/allocator.h"
#include "tensor/device.h"
#include "tools/loralab/cli_checks.h"

#include <fmt/format.h>

#include <filesystem>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::App* add_train_command(CLI::App& app, TrainCommandOptions& o) {
  CLI::App* cmd = app.add_subcommand("train", "Train a GPT (from scratch or from a checkpoint folder) with AdamW; resumable, Ctrl-C safe");
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
  return cmd;
}

int run_train(const TrainCommandOptions& o) {
  train::TrainOptions t = o.train;
  const std::string checkpoint = t.out_dir + "/checkpoint.safetensors";
  LAB_CHECK(!o.resume || fs::exists(checkpoint), "--resume: there is no {} to resume (HINT: the --out of the run to continue, or leave out --resume)",
            checkpoint);
  const Device device = parse_device(o.device);
  require_device(device);

  // The model: a checkpoint folder, a config.json, or the tiny config with the size flags.
  std::shared_ptr<nn::GPT> model;
  if (!o.model.empty()) {
    model = nn::load_gpt(o.model, device);
    fmt::print("model: {} ({} parameters)\n", o.model, model->num_parameters());
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
  model->name_parameters();
  const nn::GPTConfig& c = model->config();
  if (t.seq_len == 0) t.seq_len = c.n_positions;
  t.warmup = o.warmup >= 0 ? o.warmup : std::min<int64_t>(100, t.steps / 10);

  train::DataSource source = o.data;
  source.corpus_seed = t.seed;
  train::LoadedTokens loaded = train::load_tokens(source, c.vocab_size);
  data::TokenDataset dataset(std::move(loaded.tokens), 0.1, loaded.description);
  fmt::print("data: {}: {} tokens to train on, {} to validate\n", loaded.description, dataset.train_tokens(), dataset.val_tokens());
  fmt::print("training: {} steps of {} x {} x {} tokens on {}, lr {} -> {} (warmup {}), weight decay {}, clip {}; writing {}\n", t.steps,
             t.accum, t.batch_size, t.seq_len, o.device, t.lr, t.min_lr, t.warmup, t.weight_decay, t.clip, t.out_dir);

  train::TrainResult r = train::train_gpt(*model, dataset, t);
  if (r.status == train::TrainStatus::interrupted) return 130;
  if (r.status == train::TrainStatus::stopped) return 0;
  fmt::print("done: step {}, train loss {:.4f} (first {:.4f}), val loss {:.4f}, {:.0f} tokens/s; peak memory {}\n", r.step, r.last_train_loss,
             r.first_train_loss, r.val_loss, r.tokens_per_s, format_bytes(memory_stats(device).peak));
  fmt::print("model: {}/model (load it with --model in eval, generate, or another train)\n", t.out_dir);
  return 0;
}

}  // namespace lab::tools
