// Lesson 09: a real pretrained model. The whole QLoRA workflow on a Hugging Face folder you downloaded
// (GPT-2 or LLaMA family, --model DIR): read its config and headers, estimate the memory, load it,
// generate, quantize its linear layers to NF4, inject LoRA, train a few steps on your text, generate
// again, save the adapter in PEFT's format and check that it reloads. Without --model it runs on the
// tiny LLaMA fixture of the tests (random weights: the steps are real, the text is noise).
// Not here: downloading (loralab never does), chat templates. README.md beside this file has the
// steps and the files to read; train/model_files.h and train/memory_report.h are new here.
#include "autograd/autograd.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/tokenizer.h"
#include "lessons/common/lesson.h"
#include "nn/linear.h"
#include "nn/lora.h"
#include "nn/lora_io.h"
#include "nn/sample.h"
#include "quant/nf4_checkpoint.h"
#include "quant/quantize_model.h"
#include "tensor/all.h"
#include "train/data_source.h"
#include "train/memory_report.h"
#include "train/model_files.h"
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <filesystem>

using namespace lab;
namespace fs = std::filesystem;

namespace {

// Text to print: valid UTF-8 characters as they are, control characters and invalid bytes as '.'
// (a byte-level model with random weights, like the fixture, writes any byte).
std::string printable(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const size_t n = data::utf8_char_length(text, i);  // 1 for ASCII and for a byte that starts no valid character
    const char32_t c = n == 1 ? char32_t(uint8_t(text[i])) : data::utf8_decode(text, i, n);
    const bool shown = n == 1 ? c == '\n' || (c >= 32 && c < 127) : (c < 0x80 || c > 0x9f);  // U+0080..U+009F: C1 controls
    out += shown ? text.substr(i, n) : std::string(".");
    i += n;
  }
  return out;
}

// Bytes held by the weights of the nn::Linear layers under `model` (what NF4 replaces), from the tensors.
size_t linear_weight_bytes(nn::Module& model) {
  size_t bytes = 0;
  for (const auto& [name, m] : model.named_modules())
    if (auto* linear = dynamic_cast<nn::Linear*>(m)) bytes += linear->weight().nbytes();
  return bytes;
}

// The model's continuation of `prompt`, decoded (the prompt left out). An id past the tokenizer's
// tokens (an embedding padded beyond the vocabulary, or random weights) shows as <id>.
std::string continuation(nn::CausalLM& model, const data::Tokenizer& tk, const std::string& prompt, int64_t n, const nn::SampleOptions& o) {
  std::string text;
  std::vector<int64_t> run;
  for (int64_t id : nn::generate(model, tk.encode(prompt), n, o)) {
    if (id < tk.vocab_size()) run.push_back(id);
    else text += tk.decode(run) + fmt::format("<{}>", id), run.clear();
  }
  return text + tk.decode(run);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 09: QLoRA on a real pretrained model, from its folder to a saved adapter"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "09_real_model");
  std::string model_dir, text_file, prompt = "Mia had a red hat and Tom had a";
  std::vector<std::string> targets;
  int64_t steps = 30, batch = 4, seq_len = 128, max_new = 40, r = 8;
  double lr = 2e-3, temperature = 0, alpha = 16;
  app.add_option("--model", model_dir, "a Hugging Face folder (config.json + model.safetensors or shards + index; GPT-2 or LLaMA family); "
                                       "default: the tiny LLaMA fixture of the tests");
  app.add_option("--text", text_file, "your text to train on (default: the generated story corpus of lesson 04)");
  app.add_option("--prompt", prompt, "what to continue before and after training")->capture_default_str();
  app.add_option("--max-new-tokens", max_new, "tokens generated from the prompt")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--temperature", temperature, "0: greedy; above 0: sampled with --seed")->check(CLI::Range(0.0, 10.0))->capture_default_str();
  app.add_option("--steps", steps, "training steps (--quick: at most 10)")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--batch", batch, "sequences a step")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--seq-len", seq_len, "tokens a sequence (at most the model's context)")->check(CLI::Range(2, 1 << 20))->capture_default_str();
  app.add_option("--lr", lr, "peak learning rate of LoRA's A and B")->check(CLI::Range(1e-7, 1.0))->capture_default_str();
  app.add_option("--r", r, "LoRA rank")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--alpha", alpha, "LoRA alpha (scaling alpha / r)")->check(CLI::Range(1e-6, 1e6))->capture_default_str();
  app.add_option("--target", targets, "modules to adapt (default: PEFT's for the family: c_attn for GPT-2, q_proj and v_proj for LLaMA)");

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) steps = std::min<int64_t>(steps, 10), max_new = std::min<int64_t>(max_new, 16);
    const bool fixture = model_dir.empty();
    LAB_CHECK(fixture || fs::is_directory(model_dir), "--model {}: no such folder (HINT: a Hugging Face model folder with config.json and "
              "model.safetensors; run without --model for the fixture)", model_dir);
    lesson::section("1. Which model");
    if (fixture) {
      model_dir = LAB_SOURCE_DIR "tests/data/reference/llama_tiny";
      fmt::print("No --model given. To run this on a real model, download a Hugging Face folder first, for example\n"
                 "  huggingface-cli download HuggingFaceTB/SmolLM2-135M --local-dir models/smollm2-135m   (LLaMA family, 135M)\n"
                 "  huggingface-cli download openai-community/gpt2 --local-dir models/gpt2                 (GPT-2, 124M)\n"
                 "and pass --model models/smollm2-135m. Needed: config.json, model.safetensors (or its shards and\n"
                 "model.safetensors.index.json) and tokenizer.json (or vocab.json + merges.txt). loralab never downloads anything.\n"
                 "Now: the tests' tiny LLaMA (random weights, no tokenizer: one token a byte) in {}\n\n", model_dir);
    }
    const train::ModelInfo info = train::read_model_info(model_dir);
    LAB_CHECK(!info.nf4, "--model {}: already quantized (its config.json has a quantization_config) (HINT: the f32/bf16 folder; this lesson "
              "quantizes it itself)", model_dir);
    std::string dtypes;
    for (const auto& [dtype, count] : info.dtypes) dtypes += fmt::format("{}{} tensors of {}", dtypes.empty() ? "" : ", ", count, dtype);
    const std::unique_ptr<data::Tokenizer> tk = train::tokenizer_for(model_dir, info.vocab_size, "this lesson reads --text and --prompt as bytes");
    fmt::print("model       {}\n            {}\n", model_dir, info.summary);
    fmt::print("files       {} weight file(s){}: {} of tensor data, {}\n", info.files.size(), info.index.empty() ? "" : " + index",
               format_bytes(info.tensor_bytes), dtypes);
    fmt::print("parameters  {} (from the headers; no weight loaded yet)\n", info.parameters);
    fmt::print("tokenizer   {}\n", tk->describe());

    lesson::section("2. What fine-tuning it will cost, before loading it");
    if (targets.empty()) targets = info.lora_targets;
    const int64_t T = std::min(seq_len, info.context);
    const std::vector<std::string> linear_targets = train::targeted_linears(info.shape, targets);
    fmt::print("one AdamW step on {} x {} tokens, LoRA r {} on {} (train/memory_report.h; `loralab train --model DIR --dry-run` prints the same)\n\n",
               batch, T, r, fmt::join(linear_targets, ","));
    const std::vector<train::MemoryTable> tables = train::finetune_memory_tables(info.shape, linear_targets, r, batch, T);
    train::print_memory_tables(tables);
    const double qlora_estimate = tables[0].rows[2].estimate.total();  // loralab f32, QLoRA: what this lesson runs

    lesson::section("3. Load it, generate, quantize to NF4");
    const size_t bytes0 = memory_stats(opt.device).current;
    std::shared_ptr<nn::CausalLM> model = train::load_model(model_dir, opt.device);
    const size_t loaded_bytes = memory_stats(opt.device).current - bytes0;
    fmt::print("loaded: {} ({} parameters, {} in the allocator)\n", model->summary(), model->num_parameters(), format_bytes(loaded_bytes));
    nn::SampleOptions sample;
    sample.temperature = temperature, sample.seed = opt.seed;
    fmt::print("{} tokens, {}\n", max_new, temperature == 0 ? std::string("greedy") : fmt::format("temperature {}, seed {}", temperature, opt.seed));
    const std::string text_f32 = printable(continuation(*model, *tk, prompt, max_new, sample));
    fmt::print("  f32 base:  [{}]{}\n", printable(prompt), text_f32);
    // QLoRA's base: every Linear but the LM head to NF4, blocks of 64, the absmax themselves quantized (double quantization)
    const size_t linear_before = linear_weight_bytes(*model), alloc_before = memory_stats(opt.device).current;
    const int64_t nf4_layers = quant::quantize_for_qlora(*model, 64, true);
    const size_t linear_kept = linear_weight_bytes(*model), nf4_bytes = quant::nf4_weight_bytes(*model);
    const size_t f32_bytes = linear_before - linear_kept;  // the f32 weights that NF4 replaced
    const std::string text_before = printable(continuation(*model, *tk, prompt, max_new, sample));
    fmt::print("  NF4 base:  [{}]{}\n", printable(prompt), text_before);
    fmt::print("{} linear layers to NF4: their weights {} -> {} ({:.3f} bits a weight); {};\n"
               "the allocator's count went from {} to {}\n", nf4_layers, format_bytes(f32_bytes), format_bytes(nf4_bytes),
               32.0 * double(nf4_bytes) / double(f32_bytes),
               linear_kept > 0 ? "the LM head stays f32: " + format_bytes(linear_kept) : std::string("the LM head is the embedding, which stays f32"),
               format_bytes(alloc_before), format_bytes(memory_stats(opt.device).current));

    lesson::section("4. Inject LoRA");
    nn::LoraConfig lora;
    lora.r = r, lora.lora_alpha = alpha, lora.target_modules = targets;
    Generator lora_gen(opt.seed + 1);
    const nn::InjectReport injected = nn::inject_lora(*model, lora, lora_gen);  // A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0: the model is unchanged
    model->name_parameters();
    const std::vector<std::string>& wrapped = injected.wrapped;
    fmt::print("r {}, alpha {} (scaling {}), on {} modules: {}{}\n{}\n", r, alpha, lora.scaling(), wrapped.size(), wrapped.front(),
               wrapped.size() > 1 ? " ... " + wrapped.back() : "", nn::trainable_parameters_line(*model));

    lesson::section("5. Train a few steps on your text");
    train::DataSource source;
    source.text_file = text_file, source.corpus_seed = opt.seed, source.corpus_bytes = opt.quick ? 40000 : 200000;
    train::LoadedTokens loaded = train::load_tokens(source, data::kByteVocab);  // the text; the model's tokenizer makes the tokens
    data::TokenDataset dataset(tk->encode(loaded.text), 0.1, loaded.description);
    fmt::print("data: {}: {} tokens to train on, {} to validate ({})\n  \"{}...\"\n", loaded.description, dataset.train_tokens(),
               dataset.val_tokens(), tk->describe(), printable(loaded.text.substr(0, 100)));
    train::TrainOptions t;
    t.steps = steps, t.batch_size = batch, t.seq_len = T, t.lr = lr, t.min_lr = lr / 10, t.warmup = std::min<int64_t>(100, steps / 10);
    t.eval_every = 0, t.save_every = 0, t.seed = opt.seed, t.out_dir = opt.out_dir + "/train", t.fresh = true, t.save_model = false;
    t.quiet = opt.quick;
    const int64_t val_batches = std::min<int64_t>(4, dataset.num_val_batches(batch, T));
    const double val_before = train::evaluate_loss(*model, dataset, batch, T, val_batches);
    fmt::print("{} steps of {} x {} tokens, AdamW, lr {} -> {} (warmup {}); loss.csv and the checkpoint in {}\n", t.steps, batch, T, t.lr,
               t.min_lr, t.warmup, t.out_dir);
    reset_peak_memory(opt.device);  // from here: the peak of training alone, not of loading the f32 base
    const train::TrainResult result = train::train_causal_lm(*model, dataset, t);
    if (result.status == train::TrainStatus::interrupted) throw lesson::Interrupted{};
    const size_t peak = memory_stats(opt.device).peak;
    const double val_after = train::evaluate_loss(*model, dataset, batch, T, val_batches);
    fmt::print("train loss {:.4f} -> {:.4f}; validation loss ({} batches) {:.4f} -> {:.4f}; {:.0f} tokens/s\n"
               "peak memory while training: {} (section 2's estimate for QLoRA in f32: {})\n", result.first_train_loss, result.last_train_loss,
               val_batches, val_before, val_after, result.tokens_per_s, format_bytes(peak), format_bytes(size_t(qlora_estimate)));

    lesson::section("6. Generate again, save the adapter, reload it");
    const std::string text_after = printable(continuation(*model, *tk, prompt, max_new, sample));
    fmt::print("  before:  [{}]{}\n  after:   [{}]{}\n", printable(prompt), text_before, printable(prompt), text_after);
    nn::AdapterConfig adapter;
    adapter.lora = lora, adapter.base_model_name_or_path = model_dir;
    adapter.fan_in_fan_out = model->family() == "gpt2";  // GPT-2's Conv1D, as PEFT sets it
    const std::string adapter_dir = opt.out_dir + "/adapter";
    nn::save_adapter(*model, adapter, adapter_dir);
    fmt::print("saved {}/: adapter_config.json, adapter_model.safetensors ({})\n", adapter_dir,
               format_bytes(fs::file_size(adapter_dir + "/adapter_model.safetensors")));
    // a fresh base, quantized the same way, plus the files: the trained model's logits again
    std::vector<int64_t> ids = tk->encode(prompt);
    if (int64_t(ids.size()) > info.context) ids.resize(size_t(info.context));
    const Tensor x = from_vector(ids, {1, int64_t(ids.size())}).to(opt.device);
    double reload_diff = 0, f32_diff = 0;
    {
      ag::NoGradGuard no_grad;
      model->eval();
      const Tensor trained = model->forward(x);
      std::shared_ptr<nn::CausalLM> fresh = train::load_model(model_dir, opt.device);
      quant::quantize_for_qlora(*fresh, 64, true);
      Generator g(0);  // draws an A that the file's A then overwrites
      nn::load_adapter(*fresh, adapter_dir, g);
      fresh->eval();
      reload_diff = lesson::compare("NF4 + file", fresh->forward(x), trained);
      fresh = train::load_model(model_dir, opt.device);  // what `loralab generate --model DIR --adapter` runs: the f32 base
      nn::load_adapter(*fresh, adapter_dir, g);
      fresh->eval();
      f32_diff = lesson::compare("f32 + file", fresh->forward(x), trained);
    }
    fmt::print("logits of the prompt [1, {}, {}], against the trained model's: a fresh base quantized the same way plus the adapter\n"
               "files (NF4 + file) gives them back; the f32 base plus the files (f32 + file) differs by NF4's rounding of the base.\n"
               "To use the adapter (the same text as 'after' above on the NF4 base it was trained on; close to it on the f32 base):\n",
               ids.size(), model->vocab_size());
    const std::string flags = fmt::format("--prompt \"{}\" --max-new-tokens {} --temperature {} --seed {}", prompt, max_new, temperature, opt.seed);
    fmt::print("  build/release/loralab quantize --model {} --out {}/base_nf4 --double-quant\n"
               "  build/release/loralab generate --model {}/base_nf4 --adapter {} {}\n"
               "  build/release/loralab generate --model {} --adapter {} {}\n",
               model_dir, opt.out_dir, opt.out_dir, adapter_dir, flags, model_dir, adapter_dir, flags);

    nlohmann::json estimates;
    for (const train::MemoryTable& table : tables)
      for (const train::MemoryRow& row : table.rows) estimates[row.recipe.name] = {{"trainable", row.estimate.trainable}, {"total_bytes", row.estimate.total()}};
    const nlohmann::json summary = {
        {"model", model_dir}, {"fixture", fixture}, {"family", model->family()}, {"tokenizer", tk->describe()},
        {"parameters_in_files", info.parameters}, {"dtypes", info.dtypes}, {"loaded_bytes", loaded_bytes},
        {"memory_estimates", estimates},
        {"nf4_layers", nf4_layers}, {"linear_f32_bytes", f32_bytes}, {"linear_nf4_bytes", nf4_bytes}, {"linear_kept_f32_bytes", linear_kept},
        {"targets", targets}, {"wrapped", wrapped}, {"trainable", model->num_parameters(true)},
        {"trainable_line", nn::trainable_parameters_line(*model)}, {"steps", steps}, {"train_loss_first", result.first_train_loss},
        {"train_loss_last", result.last_train_loss}, {"val_loss_before", val_before}, {"val_loss_after", val_after}, {"train_peak_bytes", peak},
        {"prompt", printable(prompt)}, {"text_f32", text_f32}, {"text_before", text_before}, {"text_after", text_after}, {"adapter_dir", adapter_dir},
        {"reload_maxdiff", reload_diff}, {"f32_base_maxdiff", f32_diff}};
    // replace: a path or a --text description need not be UTF-8, and JSON must be
    lesson::write_summary(opt, summary);
    fmt::print("\nwritten: {0}/summary.json, {0}/adapter/, {0}/train/ (loss.csv, loss.svg, checkpoint.safetensors)\n", opt.out_dir);
  });
}
