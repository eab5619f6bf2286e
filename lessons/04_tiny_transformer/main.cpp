// Lesson 04: a tiny GPT trained from scratch. The generated story corpus (or your own text), a
// 4-layer GPT-2 with its parameters and bytes counted, text sampled before training, AdamW with
// warmup, cosine decay and clipping, validation loss and perplexity, text sampled after, and the
// model saved as a Hugging Face folder: the pretrained base of lessons 05 and 06.
// README.md beside this file has the math; train/trainer.cpp is the loop itself.
#include "data/byte_tokenizer.h"
#include "data/dataset.h"
#include "lessons/common/base_model.h"
#include "lessons/common/lesson.h"
#include "nn/gpt.h"
#include "nn/sample.h"
#include "tensor/all.h"
#include "train/copy_probe.h"
#include "train/data_source.h"
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <cmath>

using namespace lab;

namespace {

// Byte tokens print as text; anything unprintable (or a token id past 255) as a dot.
std::string show(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += (id >= 32 && id < 127) || id == '\n' ? char(id) : '.';
  return s;
}

void sample(nn::GPT& model, const std::vector<int64_t>& prompt, int64_t n, const nn::SampleOptions& o) {
  std::vector<int64_t> out = nn::generate(model, prompt, n, o);
  fmt::print("  [{}]{}\n", show(prompt), show(out));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 04: a tiny GPT trained from scratch on generated stories"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "04_tiny_transformer");
  nn::GPTConfig config = nn::tiny_gpt_config();
  app.add_option("--n-layer", config.n_layer, "transformer blocks")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--n-head", config.n_head, "attention heads (must divide --n-embd)")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--n-embd", config.n_embd, "width of the residual stream")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--context", config.n_positions, "context length (n_positions), also the training sequence length")
      ->check(CLI::Range(2, 4096))->capture_default_str();
  train::DataSource source;
  app.add_option("--data", source.text_file, "train on this text file (one token a byte) instead of the generated corpus");
  app.add_option("--tokens", source.token_file, "train on this file of whitespace-separated token ids (< 256)");
  app.add_option("--corpus-bytes", source.corpus_bytes, "size of the generated corpus")->check(CLI::Range(int64_t(10000), int64_t(1) << 30))->capture_default_str();
  train::TrainOptions t = lesson::base_training_options();  // the base of lessons 05-07 (lessons/common/base_model.h)
  app.add_option("--steps", t.steps, "optimizer steps (--quick: 40)")->check(CLI::Range(int64_t(1), int64_t(10000000)))->capture_default_str();
  app.add_option("--batch", t.batch_size, "sequences a step")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--lr", t.lr, "peak learning rate (after warmup)")->check(CLI::Range(1e-6, 1.0))->capture_default_str();
  app.add_flag("--fresh", t.fresh, "start over even if OUT/checkpoint.safetensors exists (by default an interrupted run resumes)");
  nn::SampleOptions so;
  so.temperature = 0.8, so.top_k = 20;
  app.add_option("--temperature", so.temperature, "sampling temperature (0: greedy)")->check(CLI::Range(0.0, 10.0))->capture_default_str();
  app.add_option("--top-k", so.top_k, "sample among the k likeliest bytes (0: all)")->check(CLI::Range(0, 256))->capture_default_str();
  std::string prompt_text = "Mia had a ";
  app.add_option("--prompt", prompt_text, "start of the sampled text")->capture_default_str();
  // Flags that are fine one by one can still make a bad model (n_embd % n_head): a bad command line too.
  app.callback([&] {
    if (config.n_embd % config.n_head != 0)
      throw CLI::ValidationError("--n-embd", fmt::format("{} is not divisible by --n-head {}", config.n_embd, config.n_head));
    if (prompt_text.empty()) throw CLI::ValidationError("--prompt", "must not be empty");
    try {
      config.validate("the model flags");
    } catch (const Error& e) {
      throw CLI::ValidationError(e.what());
    }
  });

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) {  // a smaller model, fewer steps: seconds on two cores
      t.steps = std::min<int64_t>(t.steps, 40), t.eval_every = 20, t.save_every = 20, t.eval_batches = 4;
      config.n_layer = std::min<int64_t>(config.n_layer, 2), config.n_embd = std::min<int64_t>(config.n_embd, 64);
      config.n_positions = std::min<int64_t>(config.n_positions, 32), t.batch_size = std::min<int64_t>(t.batch_size, 8);
      source.corpus_bytes = std::min<int64_t>(source.corpus_bytes, 100000);
    }
    t.warmup = std::min(t.warmup, t.steps / 10);  // at most a tenth of the run
    t.seq_len = config.n_positions, t.seed = opt.seed, t.out_dir = opt.out_dir;
    source.corpus_seed = opt.seed;

    lesson::section("1. The data: bytes of text, one token each");
    train::LoadedTokens loaded = train::load_tokens(source, config.vocab_size);
    fmt::print("training on {}\n", loaded.description);
    if (!loaded.text.empty()) fmt::print("the first 300 bytes:\n{}\n", loaded.text.substr(0, 300));
    data::TokenDataset dataset(std::move(loaded.tokens), 0.1, loaded.description);
    fmt::print("\n{} tokens to train on, {} held out for validation\n", dataset.train_tokens(), dataset.val_tokens());

    lesson::section("2. The model: GPT-2, small");
    Generator gen(opt.seed);
    const size_t before = memory_stats(opt.device).current;
    nn::GPT model(config, gen);
    model.to(opt.device);
    model.name_parameters();
    const size_t model_bytes = memory_stats(opt.device).current - before;
    fmt::print("{} layers, {} heads, width {}, context {}, vocabulary {}\n", config.n_layer, config.n_head, config.n_embd, config.n_positions,
               config.vocab_size);
    fmt::print("{} parameters; {} on {} (the allocator's count; 4 bytes each: {})\n", model.num_parameters(), format_bytes(model_bytes),
               opt.device_name, format_bytes(size_t(model.num_parameters()) * 4));
    fmt::print("AdamW adds two moments a parameter: {} more once training starts\n", format_bytes(2 * model_bytes));
    const double uniform_loss = std::log(double(config.vocab_size));
    fmt::print("an untrained model guesses about uniformly: loss ln({}) = {:.3f} nats a token\n", config.vocab_size, uniform_loss);

    const std::vector<int64_t> prompt = data::encode_bytes(prompt_text);
    const int64_t sample_tokens = opt.quick ? 60 : 100;
    lesson::section("3. Sampling before training");
    sample(model, prompt, sample_tokens, so);

    lesson::section("4. Training");
    fmt::print("{} steps of {} x {} tokens; lr {} -> {} (warmup {}, cosine), weight decay {}, clip {}\n", t.steps, t.batch_size, t.seq_len, t.lr,
               t.min_lr, t.warmup, t.weight_decay, t.clip);
    reset_peak_memory(opt.device);
    train::TrainResult r = train::train_gpt(model, dataset, t);
    if (r.status != train::TrainStatus::finished) throw lesson::Interrupted{};
    fmt::print("first train loss {:.3f}, last {:.3f}; {:.0f} tokens/s; peak memory {}\n", r.first_train_loss, r.last_train_loss, r.tokens_per_s,
               format_bytes(memory_stats(opt.device).peak));

    lesson::section("5. Validation loss and perplexity");
    const int64_t val_batches = std::min<int64_t>(dataset.num_val_batches(t.batch_size, t.seq_len), opt.quick ? 8 : 16);
    const double val_loss = train::evaluate_loss(model, dataset, t.batch_size, t.seq_len, val_batches);
    fmt::print("validation loss {:.4f} nats a token over {} validation batches: perplexity {:.2f}\n", val_loss, val_batches, std::exp(val_loss));
    fmt::print("(the model hesitates, on average, between about {:.1f} bytes; uniform would be {})\n", std::exp(val_loss), config.vocab_size);

    lesson::section("6. Sampling after training");
    fmt::print("temperature {}, top-k {}:\n", so.temperature, so.top_k);
    sample(model, prompt, sample_tokens, so);
    fmt::print("greedy (temperature 0):\n");
    sample(model, prompt, sample_tokens, {0.0, 0, 0});

    nlohmann::json summary = {{"first_train_loss", r.first_train_loss}, {"last_train_loss", r.last_train_loss}, {"val_loss", val_loss},
                              {"perplexity", std::exp(val_loss)},       {"steps", r.step},                       {"tokens_per_s", r.tokens_per_s},
                              {"parameters", model.num_parameters()},   {"model_bytes", model_bytes},            {"uniform_loss", uniform_loss}};

    lesson::section("7. Does the model copy from its context?");
    // Lesson 05's task needs it; the probe asks in the corpus's own words (train/copy_probe.h).
    if (!source.text_file.empty() || !source.token_file.empty()) {
      fmt::print("skipped: the probe asks about the generated corpus's people and things, and this model read your file\n");
    } else if (config.n_positions < 100) {
      fmt::print("skipped: a context of {} bytes is shorter than the probe's prompts (up to about 90 bytes)\n", config.n_positions);
    } else {
      for (int64_t facts : {1, 2}) {
        train::CopyProbeResult p = train::copy_probe(model, facts, 100, opt.seed);
        fmt::print("{} fact{} before the question: {} of {} colours right ({:.0f}%; chance: {})\n  e.g. \"{}\" ->\"{}\"\n", facts,
                   facts == 1 ? "" : "s", p.correct, p.total, 100 * p.accuracy, facts == 1 ? "1 in 11, a blind guess" : "1 in 2, either colour",
                   p.example_prompt, p.example_generated);
        summary[fmt::format("copy_accuracy_{}_fact{}", facts, facts == 1 ? "" : "s")] = p.accuracy;
      }
    }
    lesson::write_summary(opt, summary);
    fmt::print("\nwritten: {0}/model/ (config.json + model.safetensors, for lessons 05 and 06), {0}/loss.csv, {0}/loss.svg,\n"
               "{0}/checkpoint.safetensors, {0}/summary.json\n", opt.out_dir);
  });
}
