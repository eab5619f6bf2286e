// The tables of memory_report.h: which recipes, at which widths, with which activation coefficients.
#include "train/memory_report.h"

#include "tensor/allocator.h"
#include "tensor/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lab::train {

std::vector<std::string> targeted_linears(const TransformerShape& s, const std::vector<std::string>& targets) {
  std::vector<std::string> names, all;
  for (const nn::LoraTarget& l : block_linears(s)) {
    all.push_back(l.name);
    for (const std::string& t : targets)
      if (l.name == t || (l.name.size() > t.size() + 1 && l.name.compare(l.name.size() - t.size() - 1, t.size() + 1, "." + t) == 0)) {
        names.push_back(l.name);
        break;
      }
  }
  LAB_CHECK(!names.empty(), "--target {}: none of {}'s block linear layers is named so (they are {})", fmt::join(targets, ", "), s.name,
            fmt::join(all, ", "));
  return names;
}

std::vector<MemoryTable> finetune_memory_tables(const TransformerShape& s, const std::vector<std::string>& linear_targets, int64_t r,
                                                int64_t batch, int64_t seq_len) {
  // recipe(name, bits of a linear weight, of the rest, full or LoRA): f32 LoRA's A and B, f32 gradients, no master copy
  auto recipe = [&](const char* name, double linear_bits, double other_bits, bool full) {
    FinetuneRecipe f;
    f.name = name, f.linear_bits = linear_bits, f.other_bits = other_bits, f.full = full, f.r = r;
    if (!full) f.lora_targets = linear_targets;
    return f;
  };
  FinetuneRecipe full16 = recipe("full, 16-bit + f32 master", 16, 16, true);
  full16.trainable_bits = 16, full16.grad_bits = 16, full16.master_bits = 32;  // as lesson 06's full16
  const double nf4 = nf4_bits();
  const ActivationCoefficients f32 = loralab_f32(), half = korthikanti_16bit(s.llama);
  const std::vector<std::pair<std::string, std::vector<std::pair<FinetuneRecipe, ActivationCoefficients>>>> plan = {
      {"loralab (f32 compute, as this program trains)",
       {{recipe("full fine-tuning, f32", 32, 32, true), f32},
        {recipe("LoRA, f32 base", 32, 32, false), f32},
        {recipe("QLoRA, NF4 + double quant base", nf4, 32, false), f32}}},
      {"16-bit (PyTorch + PEFT: bf16 weights, f32 Adam; Korthikanti et al. activations)",
       {{full16, half}, {recipe("LoRA, 16-bit base", 16, 16, false), half}, {recipe("QLoRA, NF4 + double quant base", nf4, 16, false), half}}}};
  std::vector<MemoryTable> tables;
  for (const auto& [title, rows] : plan) {
    MemoryTable t{title, {}};
    for (const auto& [f, k] : rows) t.rows.push_back({f, estimate_finetune_memory(s, f, batch, seq_len, k)});
    tables.push_back(std::move(t));
  }
  return tables;
}

void print_memory_tables(const std::vector<MemoryTable>& tables) {
  auto b = [](double x) { return format_bytes(size_t(x)); };
  for (const MemoryTable& t : tables) {
    fmt::print("{}\n", t.title);
    fmt::print("  {:<32} {:>12} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12}\n", "recipe", "trainable", "weights", "adapters", "grads", "optimizer",
               "activations", "total");
    for (const MemoryRow& r : t.rows) {
      const MemoryEstimate& e = r.estimate;
      fmt::print("  {:<32} {:>12} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12}\n", r.recipe.name, e.trainable, b(e.weights), b(e.adapters), b(e.grads),
                 b(e.optimizer), b(e.activations), b(e.total()));
    }
    fmt::print("\n");
  }
}

}  // namespace lab::train
