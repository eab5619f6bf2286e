// Lesson 06: QLoRA. Lesson 05's task fine-tuned three ways from the same pretrained base: every
// weight (full fine-tuning), LoRA on a frozen f32 base, and LoRA on a frozen NF4 base with double
// quantization (QLoRA). Bytes from the allocator, peak memory of a step, loss and task accuracy side
// by side; then the same arithmetic for LLaMA-7B and 65B, where the difference decides which GPU you need.
// README.md beside this file has the math; quant/quantize_model.h and train/memory_accounting.h are new here.
#include "data/task.h"
#include "lessons/common/base_model.h"
#include "lessons/common/lesson.h"
#include "nn/gpt_checkpoint.h"
#include "nn/lora.h"
#include "quant/quantize_model.h"
#include "tensor/all.h"
#include "train/data_source.h"
#include "train/finetune.h"
#include "train/memory_accounting.h"
#include "train/task_eval.h"
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <filesystem>

using namespace lab;

namespace {

struct Outcome {
  std::string name;
  size_t weight_bytes = 0;  // the model as loaded (f32, or NF4 + f32 embeddings), from the allocator
  size_t linear_bytes = 0;  // of which the linear layers' weights (what NF4 quantizes)
  int64_t trainable = 0;
  train::FinetuneResult r;
  double test_loss = 0, accuracy = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 06: QLoRA, LoRA on a 4-bit NF4 base, against LoRA and full fine-tuning"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "06_qlora");
  std::string base = "runs/04_tiny_transformer/model";
  app.add_option("--base", base, "the pretrained model folder (lesson 04's); trained here if missing")->capture_default_str();
  train::FinetuneOptions f;
  f.steps = 150, f.batch_size = 16, f.lr = 2e-3, f.min_lr = 2e-4;
  app.add_option("--steps", f.steps, "fine-tuning steps of each method (--quick: 24)")->check(CLI::Range(1, 100000))->capture_default_str();
  nn::LoraConfig lora;
  lora.r = 8, lora.lora_alpha = 16, lora.target_modules = {"c_attn", "c_proj", "c_fc"};  // every linear layer, as QLoRA
  app.add_option("--r", lora.r, "LoRA rank")->check(CLI::Range(1, 128))->capture_default_str();
  double full_lr = 5e-4;
  app.add_option("--full-lr", full_lr, "peak learning rate of full fine-tuning (LoRA's is --lr)")->capture_default_str();
  app.add_option("--lr", f.lr, "peak learning rate of LoRA and QLoRA")->capture_default_str();
  int64_t n_train = 2000, n_test = 150;

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) f.steps = std::min<int64_t>(f.steps, 24), f.batch_size = 4, n_train = 100, n_test = 6;
    f.seed = opt.seed, f.quiet = opt.quick, f.warmup = std::min<int64_t>(f.warmup, f.steps / 10);
    lora.lora_alpha = 2.0 * double(lora.r);

    lesson::section("1. The base model and the task");
    const std::string base_dir = lesson::find_or_train_base(base, opt);
    const std::vector<data::TaskExample> train_set = data::make_task(opt.seed, n_train, data::TaskSplit::train);
    const std::vector<data::TaskExample> test_set = data::make_task(opt.seed, n_test, data::TaskSplit::test);
    fmt::print("{} training examples, {} test examples, e.g.\n{}{}\n", train_set.size(), test_set.size(), train_set[0].prompt, train_set[0].answer);

    lesson::section("2. Three ways to fine-tune, the same steps and batches");
    std::vector<Outcome> outcomes;
    for (const std::string method : {"full", "LoRA", "QLoRA"}) {
      Outcome o;
      o.name = method;
      const size_t before = memory_stats(opt.device).current;
      std::shared_ptr<nn::GPT> model = nn::load_gpt(base_dir, opt.device);
      // QLoRA: every linear weight to NF4 (4 bits + an 8-bit absmax per 64 + an f32 per 256 blocks), frozen
      if (method == "QLoRA") quant::quantize_linears_to_nf4(*model, {}, 64, /*double_quant=*/true);
      o.weight_bytes = memory_stats(opt.device).current - before;
      o.linear_bytes = method == "QLoRA" ? quant::nf4_weight_bytes(*model) : size_t(4 * train::linear_parameters(train::shape_of(model->config())));
      Generator gen(opt.seed + 1);
      if (method != "full") nn::inject_lora(*model, lora, gen);  // A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0: starts as the base
      model->name_parameters();
      o.trainable = model->num_parameters(true);
      fmt::print("\n{}: {} weights before the adapters ({} trainable parameters: {})\n", method, format_bytes(o.weight_bytes), o.trainable,
                 nn::trainable_parameters_line(*model));
      train::FinetuneOptions fo = f;
      if (method == "full") fo.lr = full_lr, fo.min_lr = full_lr / 10;
      o.r = train::finetune_on_task(*model, train_set, fo);
      o.test_loss = train::task_loss(*model, test_set);
      o.accuracy = train::evaluate_task(*model, test_set, opt.quick ? 4 : 8, 0).accuracy;
      fmt::print("loss {:.3f} -> {:.3f}; test loss {:.3f}, test accuracy {:.1f}%; {:.3f} s a step\n", o.r.losses.front(), o.r.losses.back(),
                 o.test_loss, 100 * o.accuracy, o.r.seconds_per_step);
      outcomes.push_back(std::move(o));
    }

    lesson::section("3. Memory of a step, from the allocator");
    fmt::print("{:<6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>9}\n", "", "weights", "gradients", "AdamW", "activations", "peak",
               "test loss", "accuracy");
    for (const Outcome& o : outcomes)
      fmt::print("{:<6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10.3f} {:>8.1f}%\n", o.name, format_bytes(o.r.weight_bytes),
                 format_bytes(o.r.grad_bytes), format_bytes(o.r.optimizer_bytes), format_bytes(o.r.activation_bytes),
                 format_bytes(o.r.peak_bytes), o.test_loss, 100 * o.accuracy);
    const Outcome &full = outcomes[0], &lo = outcomes[1], &q = outcomes[2];
    fmt::print("QLoRA's base weighs {:.1f}% of LoRA's: its linear weights {} instead of {} ({:.3f} bits a weight), while embeddings,\n"
               "LayerNorms and biases stay f32\n", 100.0 * double(q.weight_bytes) / double(lo.weight_bytes), format_bytes(q.linear_bytes),
               format_bytes(lo.linear_bytes), 32.0 * double(q.linear_bytes) / double(lo.linear_bytes));
    // the same figures from the shapes alone (train/memory_accounting.h), for full fine-tuning in f32
    const nn::GPTConfig config = nn::load_gpt_config(base_dir + "/config.json");
    const train::TransformerShape shape = train::shape_of(config, "this GPT");
    int64_t T = 0;
    for (const data::TaskExample& e : train_set) T = std::max<int64_t>(T, int64_t(e.prompt.size() + e.answer.size() + 1));
    train::FinetuneRecipe f32_full{"full f32", 32, 32, true};
    f32_full.grad_bits = 32;
    train::MemoryEstimate e = train::estimate_finetune_memory(shape, f32_full, f.batch_size, T, train::loralab_f32());
    fmt::print("formula for full fine-tuning (B {}, T {} at most): weights {}, gradients {}, AdamW {}, activations {} (measured: {})\n",
               f.batch_size, T, format_bytes(size_t(e.weights)), format_bytes(size_t(e.grads)), format_bytes(size_t(e.optimizer)),
               format_bytes(size_t(e.activations)), format_bytes(full.r.activation_bytes));

    lesson::section("4. Scale-up: LLaMA-7B and 65B, from their shapes");
    const int64_t B = 1, S = 512;
    fmt::print("batch {} x {} tokens. Activations: {}. LoRA's A and B, their gradients and AdamW's m and v\n"
               "in f32 (the 65B row: A, B and gradients in bf16, as qlora.py --bf16). Full fine-tuning in mixed precision: 16-bit\n"
               "weights and gradients, f32 master copy, m and v (16 bytes a parameter). Weights: 16-bit, except QLoRA's linear\n"
               "layers in NF4 (4.127 bits; embeddings, norms and lm_head stay 16-bit). GB = 1e9 bytes.\n", B, S, train::korthikanti_16bit(true).what);
    auto row = [&](const train::TransformerShape& s, train::FinetuneRecipe r, const std::string& claim) {
      train::MemoryEstimate m = train::estimate_finetune_memory(s, r, B, S, train::korthikanti_16bit(true));
      constexpr double GB = 1e9;
      fmt::print("{:<10} {:<34} {:>7.1f} {:>7.2f} {:>7.2f} {:>7.2f} {:>7.2f} {:>8.1f} GB  {}\n", s.name, r.name, m.weights / GB, m.adapters / GB,
                 m.grads / GB, m.optimizer / GB, m.activations / GB, m.total() / GB, claim);
      return m.total() / GB;
    };
    fmt::print("{:<10} {:<34} {:>7} {:>7} {:>7} {:>7} {:>7} {:>11}\n", "model", "recipe", "weights", "LoRA", "grads", "AdamW", "activ.", "total");
    train::FinetuneRecipe full16{"full, 16-bit + f32 Adam", 16, 16, true};
    full16.grad_bits = 16, full16.master_bits = 32;
    const std::vector<std::string> qv = {"q_proj", "v_proj"}, all = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    train::FinetuneRecipe lora_qv{"LoRA r 8 on q,v, 16-bit base", 16, 16, false, qv, 8};
    train::FinetuneRecipe lora_all{"LoRA r 16 all linear, 16-bit base", 16, 16, false, all, 16};
    train::FinetuneRecipe qlora_all{"QLoRA r 16 all linear, NF4+DQ", train::nf4_bits(), 16, false, all, 16};
    train::FinetuneRecipe qlora_ckpt = qlora_all;
    qlora_ckpt.name = "QLoRA r 16, + grad. checkpointing", qlora_ckpt.gradient_checkpointing = true;
    train::FinetuneRecipe qlora65{"QLoRA r 64 all linear, + checkpt.", train::nf4_bits(), 16, false, all, 64};
    qlora65.gradient_checkpointing = true, qlora65.trainable_bits = 16, qlora65.grad_bits = 16;
    const train::TransformerShape l7 = train::llama_7b(), l65 = train::llama_65b();
    const double full7 = row(l7, full16, "");
    const double lora7 = row(l7, lora_qv, "claimed: 16-24 GB");
    row(l7, lora_all, "");
    const double qlora7 = row(l7, qlora_all, "claimed: 8-16 GB");
    row(l7, qlora_ckpt, "");
    row(l65, full16, "");
    const double qlora65_gb = row(l65, qlora65, "QLoRA paper: fits one 48 GB GPU");
    fmt::print("not included: CUDA context (~0.5-1 GB), allocator fragmentation, the paged optimizer's spills, KV caches; QLoRA's\n"
               "paper also pages optimizer state to CPU memory on spikes (lesson 07)\n");

    nlohmann::json summary = {{"steps", f.steps}, {"r", lora.r}, {"base", base_dir}, {"llama7b_full_gb", full7}, {"llama7b_lora_qv_gb", lora7},
                              {"llama7b_qlora_gb", qlora7}, {"llama65b_qlora_gb", qlora65_gb}};
    for (const Outcome& o : outcomes)
      summary[o.name] = {{"weight_bytes", o.weight_bytes}, {"linear_weight_bytes", o.linear_bytes}, {"trainable", o.trainable}, {"losses", o.r.losses}, {"test_loss", o.test_loss},
                         {"accuracy", o.accuracy}, {"peak_bytes", o.r.peak_bytes}, {"activation_bytes", o.r.activation_bytes},
                         {"seconds_per_step", o.r.seconds_per_step}};
    summary["full_activation_formula_bytes"] = e.activations;
    lesson::write_summary(opt, summary);
    fmt::print("\nwritten: {}/summary.json\n", opt.out_dir);
  });
}
