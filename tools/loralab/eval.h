// `loralab eval --model DIR [--adapter DIR] (--text FILE | --tokens FILE)`: how well a checkpoint (GPT-2 or LLaMA),
// with a LoRA adapter (PEFT's folder) if given, predicts a file: the mean cross-entropy in nats per
// token and its perplexity, exp(loss).
//
// The file is cut into non-overlapping windows of the model's context (or --seq-len); each window
// predicts its next tokens, so every token but the first is predicted exactly once. --text reads
// with the folder's tokenizer (tokenizer.json, or vocab.json + merges.txt), else as bytes (a byte-level
// model, vocab 256); --tokens reads whitespace-separated ids, any vocabulary.
// Past 100 windows a progress line goes to stderr (train/progress.h); the figures go to stdout.
// Not here: task accuracy (train/task_eval.h), sampling (generate.h).
#pragma once

#include "nn/causal_lm.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lab::tools {

struct EvalOptions {
  std::string model;        // a checkpoint folder: config.json + model.safetensors
  std::string adapter;      // a LoRA adapter folder (PEFT's layout) applied unmerged, or "" for none
  std::string text;         // a text file (bytes are tokens), or
  std::string tokens;       // a file of token ids
  int64_t seq_len = 0;      // window length; 0: the model's context (n_positions)
  int64_t batch = 8;        // windows per forward
  std::string device = "cpu";
};

CLI::App* add_eval_command(CLI::App& app, EvalOptions& options);

// Prints the model, the data, the windows, the loss and the perplexity on stdout.
void run_eval(const EvalOptions& options);

struct WindowLoss {
  double loss = 0;          // mean cross-entropy over the predicted tokens, nats
  int64_t predicted = 0;    // tokens.size() - 1
  int64_t windows = 0;      // ceil(predicted / seq_len)
};

// The windowed loss of run_eval, for a model already loaded: window k reads tokens [k T, k T + T)
// and predicts tokens [k T + 1, k T + T + 1) (the last window is shorter when T does not divide).
// `on_batch(windows_done, mean_loss_so_far)` is called after each forward, when given.
WindowLoss windowed_loss(nn::CausalLM& model, const std::vector<int64_t>& tokens, int64_t seq_len, int64_t batch,
                         const std::string& source, const std::function<void(int64_t, double)>& on_batch = {});

}  // namespace lab::tools
