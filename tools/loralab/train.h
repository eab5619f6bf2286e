// `loralab train`: train a GPT on a text file, a token-id file or the generated story corpus, with
// the loop of train/trainer.h (AdamW, warmup + cosine, clipping, accumulation, evaluation,
// checkpoints, exact resume, Ctrl-C). Starts from a Hugging Face folder (--model DIR), a
// config.json (--config FILE), or lesson 04's tiny config changed by the size flags.
// An existing OUT/checkpoint.safetensors is resumed from (a line says so); --fresh starts over and
// --resume insists on one. With --lora (or --qlora: the linear layers in NF4 first) only LoRA's A and B
// train, on PEFT's default target modules of the family (c_attn for GPT-2; q_proj, v_proj for LLaMA)
// or --target NAME..., and OUT/adapter/ is written in PEFT's format. --dry-run reads config.json and
// the safetensors headers only and prints the memory full fine-tuning, LoRA and QLoRA would need
// (train/memory_accounting.h). Not here: the loop itself (train/trainer.cpp), exit codes (main.cpp).
#pragma once

#include "train/data_source.h"
#include "train/trainer.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lab::tools {

struct TrainCommandOptions {
  std::string model;   // --model DIR: start from these weights
  std::string config;  // --config FILE: a config.json, fresh weights
  int64_t n_layer = 0, n_head = 0, n_embd = 0, context = 0;  // 0: the tiny config's value
  train::DataSource data;
  train::TrainOptions train;  // its warmup and seq_len are set by run_train
  int64_t warmup = -1;        // -1: a tenth of the steps, at most 100
  std::string device = "cpu";
  bool resume = false;  // --resume: an error when there is no checkpoint to resume
  bool lora = false, qlora = false;  // train LoRA adapters (on an NF4 base with qlora)
  int64_t lora_r = 8;
  double lora_alpha = 16, lora_dropout = 0;
  std::vector<std::string> targets;  // --target: module names (PEFT's list form); empty: the family's default
  bool dry_run = false;              // print the memory estimate and stop
};

CLI::App* add_train_command(CLI::App& app, TrainCommandOptions& options);

// Returns the exit status: 0 when the run finished (or was stopped by --stop-at), 130 after Ctrl-C
// (the checkpoint saved). Anything that goes wrong is a lab::Error (exit 1 in main).
int run_train(const TrainCommandOptions& options);

}  // namespace lab::tools
