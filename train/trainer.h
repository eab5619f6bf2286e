// The training loop: a GPT trained on a TokenDataset with AdamW, as nanoGPT's train.py does it.
//
// One optimizer step (step s, counted from 0):
//   for m in 0..accum-1:  batch(s, m) -> loss -> backward(loss / accum)   (grads add up over micro-batches)
//   clip the total grad norm to `clip`; lr = schedule(s); AdamW step; drop the grads
//
// Exact resume: the batch of micro-step (s, m), and the dropout masks drawn in it, come from
// Generators seeded from (seed, s, m) alone (step_seed below), so a run stopped after any
// checkpoint and resumed from it ends with the same parameters, bit for bit, as one never stopped.
//
// What it writes to OUT (options.out_dir): loss.csv + loss.svg (run_log.h) as it goes;
// checkpoint.safetensors (model + AdamW state + step + config, nn/checkpoint.h) every save_every
// steps, at the end and on Ctrl-C; with frozen parameters (LoRA, QLoRA) the model part is only the
// parameters that train, plus a fingerprint of the frozen ones that a resume must match; model/ (a Hugging Face GPT-2 folder, nn/gpt_checkpoint.h) at the end.
// Resume policy: an existing OUT/checkpoint.safetensors is resumed from (a line says so) unless
// options.fresh; it must come from the same model config and the same training options, else a
// lab::Error says which differs. Not here: exit codes (main() maps TrainStatus::interrupted to 130).
#pragma once

#include "data/dataset.h"
#include "nn/causal_lm.h"
#include "nn/gpt.h"

#include <cmath>
#include <cstdint>
#include <string>

namespace lab::train {

struct TrainOptions {
  int64_t steps = 1000;      // optimizer steps in all (a resumed run counts those already done)
  int64_t batch_size = 16;   // sequences per micro-batch (B)
  int64_t seq_len = 128;     // tokens per sequence (T), at most the model's n_positions
  int64_t accum = 1;         // micro-batches per optimizer step
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup = 100;      // steps of linear warmup
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95;
  double clip = 1.0;         // max global grad norm; 0 turns clipping off
  int64_t eval_every = 100;  // validation loss every N steps and at the end; 0 never
  int64_t eval_batches = 8;  // M validation batches of B x T each time
  int64_t save_every = 0;    // checkpoint every N steps; 0: only at the end and on Ctrl-C
  uint64_t seed = 0;
  std::string out_dir = "runs/train";
  int64_t stop_at = 0;       // save and return TrainStatus::stopped once this step is done; 0: never
  bool fresh = false;        // ignore (and overwrite) an existing checkpoint
  bool save_model = true;    // write OUT/model/ at the end
  bool quiet = false;        // no progress bar and notes (tests)

  void validate(const nn::GPTConfig& config, const data::TokenDataset& data) const;  // a lab::Error naming the option
  void validate(int64_t context_length, const data::TokenDataset& data) const;       // the same for any model's context
};

enum class TrainStatus {
  finished,     // all options.steps done; OUT/model/ written
  interrupted,  // SIGINT or SIGTERM: the checkpoint saved after the step in progress
  stopped,      // options.stop_at reached: the checkpoint saved
};

struct TrainResult {
  TrainStatus status = TrainStatus::finished;
  int64_t start_step = 0;  // steps done before this call (resumed from the checkpoint)
  int64_t step = 0;        // steps done when it returned
  double first_train_loss = 0, last_train_loss = 0;  // over the whole run, resumed parts included (from loss.csv)
  double val_loss = NAN;   // the last measured; nan if never
  double tokens_per_s = 0; // training tokens per second in this call (0 when it trained nothing)
  double elapsed_s = 0;    // seconds of training, resumed parts included
  std::string checkpoint;  // OUT/checkpoint.safetensors
};

// The seed of stream `stream` (0: batches, 1: dropout) of micro-step m of step s: splitmix64 mixing.
uint64_t step_seed(uint64_t seed, int64_t step, int64_t micro, uint64_t stream);

// Trains `model` (already on its device; batches follow it there). Throws lab::Error on bad options,
// a checkpoint that does not match, or a loss that is not finite (naming the step; the last
// checkpoint on disk stays as it was). Returns TrainStatus::interrupted after SIGINT/SIGTERM,
// having saved the checkpoint and printed how to resume.
TrainResult train_gpt(nn::GPT& model, const data::TokenDataset& data, const TrainOptions& options);
// The same loop for any causal LM (GPT-2, LLaMA), with or without LoRA layers: AdamW updates the
// parameters that require grad; OUT/model/ (options.save_model) needs a model without LoRA layers.
TrainResult train_causal_lm(nn::CausalLM& model, const data::TokenDataset& data, const TrainOptions& options);

// The mean loss over the first `batches` validation batches of B x T (fewer if the split is shorter),
// in eval mode (no dropout), without recording a graph. Perplexity is exp of it.
double evaluate_loss(nn::CausalLM& model, const data::TokenDataset& data, int64_t batch_size, int64_t seq_len, int64_t batches);

}  // namespace lab::train
