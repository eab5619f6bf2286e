// The memory table that `loralab train --dry-run` and lesson 09 print before anything is loaded: one
// fine-tuning step of a model of a given shape, three ways (full fine-tuning, LoRA, QLoRA), once as
// loralab runs it (f32 compute) and once as PyTorch + PEFT would (16-bit weights, f32 Adam).
// From the shapes alone (memory_accounting.h has the formulas and their sources); nothing is measured
// here: finetune.h and lesson 06 measure. Next: memory_accounting.h, tools/loralab/train.cpp.
#pragma once

#include "train/memory_accounting.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lab::train {

struct MemoryRow {
  FinetuneRecipe recipe;
  MemoryEstimate estimate;
};
struct MemoryTable {
  std::string title;  // "loralab (f32 compute, as this program trains)", ...
  std::vector<MemoryRow> rows;
};

// The names of block_linears(s) that PEFT-style targets select (a name equal to a target, or ending in
// "." + target: "attn.c_proj" is selected by "c_proj"); a lab::Error naming them all when none is.
std::vector<std::string> targeted_linears(const TransformerShape& s, const std::vector<std::string>& targets);

// Two tables of three rows for a batch of `batch` x `seq_len` tokens with AdamW, LoRA rank r on
// `linear_targets` (names from targeted_linears):
//   loralab f32   full (f32 weights and gradients), LoRA (f32 base), QLoRA (NF4 + double quant base, f32 rest)
//   16-bit        full (16-bit weights and gradients + f32 master copy), LoRA (16-bit base), QLoRA (NF4 base, 16-bit rest)
// LoRA's A and B, their gradients and Adam's m and v are f32 in every row, as PEFT keeps them.
std::vector<MemoryTable> finetune_memory_tables(const TransformerShape& s, const std::vector<std::string>& linear_targets, int64_t r,
                                                int64_t batch, int64_t seq_len);

// Each table: its title, then one line a row (trainable, weights, adapters, grads, optimizer, activations, total).
void print_memory_tables(const std::vector<MemoryTable>& tables);

}  // namespace lab::train
