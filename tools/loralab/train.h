// `loralab train`: train a GPT on a text file, a token-id file or the generated story corpus, with
// the loop of train/trainer.h (AdamW, warmup + cosine, clipping, accumulation, evaluation,
// checkpoints, exact resume, Ctrl-C). Starts from a Hugging Face folder (--model DIR), a
// config.json (--config FILE), or lesson 04's tiny config changed by the size flags.
// An existing OUT/checkpoint.safetensors is resumed from (a line says so); --fresh starts over and
// --resume insists on one. Not here: the loop itself (train/trainer.cpp), exit codes (main.cpp).
#pragma once

#include "train/data_source.h"
#include "train/trainer.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

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
};

CLI::App* add_train_command(CLI::App& app, TrainCommandOptions& options);

// Returns the exit status: 0 when the run finished (or was stopped by --stop-at), 130 after Ctrl-C
// (the checkpoint saved). Anything that goes wrong is a lab::Error (exit 1 in main).
int run_train(const TrainCommandOptions& options);

}  // namespace lab::tools
