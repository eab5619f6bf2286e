// The training loop of trainer.h: options checked, the checkpoint resumed, then one optimizer step
// after another, with evaluation, logging, checkpoints and Ctrl-C in between.
#include "train/trainer.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/checkpoint.h"
#include "nn/gpt_checkpoint.h"
#include "nn/lora.h"
#include "optim/adamw.h"
#include "optim/clip.h"
#include "quant/linear4bit.h"
#include "tensor/json_io.h"
#include "train/interrupt.h"
#include "train/progress.h"
#include "train/run_log.h"
#include "train/schedule.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace lab::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// What a checkpoint holds of the model. Full training: every parameter. With frozen parameters (LoRA,
// QLoRA) only the ones that train: the frozen base is what the run started from (`--model`) and is
// loaded again on resume, so it is not written at every save (a 7B base would be 28 GB in f32 each
// time). A fingerprint of the frozen parameters and of QLoRA's NF4 weights (codes and absmax, which
// are not parameters) goes in the metadata instead, so that a resume onto another base is refused.

// FNV-1a over the name and bytes of each frozen parameter and NF4 weight, 8 bytes a step; hex.
std::string frozen_fingerprint(nn::Module& model) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](uint64_t word) { h = (h ^ word) * 0x100000001b3ULL; };
  auto mix_tensor = [&](const std::string& name, const Tensor& value) {
    for (char c : name) mix(uint64_t(uint8_t(c)));
    const Tensor t = value.to(Device::cpu()).contiguous();
    const auto* bytes = static_cast<const uint8_t*>(t.raw_data());
    const size_t n = t.nbytes();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t word;
      std::memcpy(&word, bytes + i, 8);
      mix(word);
    }
    for (; i < n; i++) mix(bytes[i]);
  };
  bool any = false;
  for (const auto& [name, p] : model.named_parameters())
    if (!ag::requires_grad(p)) any = true, mix_tensor(name, p);
  for (const auto& [name, m] : model.named_modules())
    if (const auto* q = dynamic_cast<const quant::Linear4bit*>(m)) {
      any = true;
      mix_tensor(name + ".weight (NF4 codes)", q->weight().packed);
      mix_tensor(name + ".weight (absmax)", quant::nf4_absmax(q->weight()));
    }
  return any ? fmt::format("{:016x}", h) : std::string();
}

// The model's tensors a checkpoint holds: all of them, or with a frozen base only the trainable ones.
NamedTensors tensors_to_save(const nn::Module& model, bool base_frozen) {
  NamedTensors out;
  for (const auto& [name, p] : model.state_dict())
    if (!base_frozen || ag::requires_grad(model.parameter(name))) out.emplace_back(name, p);
  return out;
}

// The options a resumed run must share with the checkpoint: they decide the batches, the schedule
// and the update, so changing one would make the result depend on where the run was stopped.
nlohmann::json resume_options(const TrainOptions& o, int64_t train_tokens) {
  return {{"steps", o.steps},   {"batch_size", o.batch_size}, {"seq_len", o.seq_len},       {"accum", o.accum},
          {"lr", o.lr},         {"min_lr", o.min_lr},         {"warmup", o.warmup},         {"weight_decay", o.weight_decay},
          {"beta1", o.beta1},   {"beta2", o.beta2},           {"clip", o.clip},             {"seed", o.seed},
          {"train_tokens", train_tokens}};
}

// The first option that differs, as "--lr: checkpoint 0.001, now 0.002"; empty when all agree.
std::string first_difference(const nlohmann::json& saved, const nlohmann::json& now) {
  for (auto it = now.begin(); it != now.end(); ++it) {
    if (!saved.contains(it.key())) return fmt::format("{}: not in the checkpoint", it.key());
    if (saved[it.key()] != it.value()) return fmt::format("{}: checkpoint {}, now {}", it.key(), json_io::dump(saved[it.key()]), json_io::dump(it.value()));
  }
  return "";
}

}  // namespace

uint64_t step_seed(uint64_t seed, int64_t step, int64_t micro, uint64_t stream) {
  // splitmix64 (Steele et al. 2014): each input is added, then the state is mixed, so nearby
  // (step, micro) pairs give unrelated seeds.
  auto mix = [](uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(mix(seed) ^ uint64_t(step)) ^ uint64_t(micro)) ^ stream);
}

void TrainOptions::validate(const nn::GPTConfig& c, const data::TokenDataset& data) const { validate(c.n_positions, data); }

void TrainOptions::validate(int64_t context, const data::TokenDataset& data) const {
  LAB_CHECK(steps >= 1, "--steps must be at least 1, got {}", steps);
  LAB_CHECK(batch_size >= 1, "--batch must be at least 1, got {}", batch_size);
  LAB_CHECK(seq_len >= 1 && seq_len <= context, "--seq-len must be in [1, {}] (the model's context, n_positions), got {}", context,
            seq_len);
  LAB_CHECK(accum >= 1, "--accum must be at least 1, got {}", accum);
  LAB_CHECK(clip >= 0 && std::isfinite(clip), "--clip must be >= 0 (0 turns clipping off), got {}", clip);
  LAB_CHECK(weight_decay >= 0, "--weight-decay must be >= 0, got {}", weight_decay);
  LAB_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "AdamW betas must be in [0, 1), got {} and {}", beta1, beta2);
  LAB_CHECK(eval_every >= 0 && save_every >= 0, "--eval-every and --save-every must be >= 0, got {} and {}", eval_every, save_every);
  LAB_CHECK(eval_batches >= 1, "the number of validation batches must be at least 1, got {}", eval_batches);
  LrSchedule{lr, min_lr, warmup, steps}.validate();
  LAB_CHECK(data.train_tokens() > seq_len, "the training split has {} tokens, too few for sequences of {} (HINT: more data, or a smaller --seq-len)",
            data.train_tokens(), seq_len);
  LAB_CHECK(eval_every == 0 || data.num_val_batches(batch_size, seq_len) >= 1,
            "the validation split ({} tokens) is too short for one batch of {} x {} (HINT: --eval-every 0, or more data)", data.val_tokens(),
            batch_size, seq_len);
}

double evaluate_loss(nn::CausalLM& model, const data::TokenDataset& data, int64_t batch_size, int64_t seq_len, int64_t batches) {
  const int64_t n = std::min(batches, data.num_val_batches(batch_size, seq_len));
  LAB_CHECK(n >= 1, "evaluate_loss: the validation split ({} tokens) is too short for one batch of {} x {}", data.val_tokens(), batch_size, seq_len);
  const bool was_training = model.is_training();
  const Device device = model.parameters().at(0).device();
  model.eval();
  ag::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < n; i++) {
    data::Batch b = data.val_batch(batch_size, seq_len, i);
    total += model.loss(b.ids.to(device), b.targets.to(device)).item<double>();
  }
  model.train(was_training);
  return total / double(n);
}

TrainResult train_gpt(nn::GPT& model, const data::TokenDataset& data, const TrainOptions& o) { return train_causal_lm(model, data, o); }

TrainResult train_causal_lm(nn::CausalLM& model, const data::TokenDataset& data, const TrainOptions& o) {
  o.validate(model.context_length(), data);
  nn::GPT* gpt = dynamic_cast<nn::GPT*>(&model);  // GPT-2 has dropout; LLaMA has none
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  LAB_CHECK(!ec, "cannot create the output folder '{}': {}", o.out_dir, ec.message());

  TrainResult result;
  result.checkpoint = o.out_dir + "/checkpoint.safetensors";
  const Device device = model.parameters().at(0).device();
  AdamW optimizer(model.parameters(), {o.lr, o.beta1, o.beta2, 1e-8, o.weight_decay});
  const std::string fingerprint = frozen_fingerprint(model);  // the frozen parameters never change: once
  const LrSchedule schedule{o.lr, o.min_lr, o.warmup, o.steps};
  const nlohmann::json options_json = resume_options(o, data.train_tokens());
  const std::string config_json = model.config_json();
  const char* const config_key = gpt != nullptr ? "gpt_config" : "model_config";
  RunLog log(o.out_dir);
  double elapsed_before = 0;

  // --- resume, or start over without leftovers of an earlier run
  if (o.fresh) {
    fs::remove(result.checkpoint, ec);
    fs::remove(log.csv_path(), ec);
  } else if (fs::exists(result.checkpoint)) {
    nn::TrainingState s = nn::load_training_state(result.checkpoint);
    auto meta = [&](const char* key) {
      auto it = s.metadata.find(key);
      LAB_CHECK(it != s.metadata.end(), "{}: no '{}' in its metadata: not a checkpoint of the training loop (HINT: --fresh starts over)",
                result.checkpoint, key);
      return it->second;
    };
    const std::string saved_text = meta(config_key);
    nlohmann::json saved;
    if (gpt != nullptr) {
      saved = json_io::parse(nn::gpt_config_json(nn::parse_gpt_config(saved_text, result.checkpoint + " (metadata gpt_config)")));
    } else {
      saved = json_io::parse_or_discarded(saved_text);
      LAB_CHECK(!saved.is_discarded(), "{}: metadata {} is not valid JSON", result.checkpoint, config_key);
    }
    LAB_CHECK(saved == json_io::parse(config_json), "{} holds a model of another shape: checkpoint {}, this run {} (HINT: the same model flags as the run that saved it, or --fresh to start over)",
              result.checkpoint, json_io::dump(saved), json_io::dump(json_io::parse(config_json)));
    const std::string diff = first_difference(json_io::parse(meta("train_options")), options_json);
    LAB_CHECK(diff.empty(), "{} was saved by a run with other training options ({}) (HINT: the same flags as that run, or --fresh to start over)",
              result.checkpoint, diff);
    if (auto it = s.metadata.find("frozen_fingerprint"); it != s.metadata.end()) {
      // only the trainable parameters were saved: the frozen ones must be the base this run loaded
      LAB_CHECK(fingerprint == it->second, "{} holds the adapters of another base: its frozen parameters' fingerprint is {}, this model's {} "
                "(HINT: the same --model as the run that saved it, or --fresh to start over)",
                result.checkpoint, it->second, fingerprint.empty() ? "(none frozen)" : fingerprint);
      const nn::LoadReport report = model.load_state_dict(s.model, false, result.checkpoint);
      std::vector<std::string> missing_trainable;
      for (const std::string& name : report.missing)
        if (ag::requires_grad(model.parameter(name))) missing_trainable.push_back(name);
      LAB_CHECK(report.unexpected.empty() && missing_trainable.empty(), "{}: {} trained parameters missing ({}) and {} unexpected ({}) (HINT: the same "
                "LoRA flags as the run that saved it, or --fresh)", result.checkpoint, missing_trainable.size(), fmt::join(missing_trainable, ", "),
                report.unexpected.size(), fmt::join(report.unexpected, ", "));
    } else {
      model.load_state_dict(s.model, true, result.checkpoint);
    }
    optimizer.load_state_dict(s.optimizer, result.checkpoint);
    result.start_step = s.step;
    const std::string elapsed_text = meta("elapsed_s");
    char* end = nullptr;
    elapsed_before = std::strtod(elapsed_text.c_str(), &end);
    LAB_CHECK(end != elapsed_text.c_str() && *end == '\0', "{}: metadata elapsed_s '{}' is not a number", result.checkpoint, elapsed_text);
    log.load(s.step);
    if (!o.quiet)
      fmt::print("resuming from {} at step {} of {} (--fresh starts over)\n", result.checkpoint, s.step, o.steps);
  }

  int64_t saved_step = result.start_step;  // the step of the checkpoint on disk (0: none)
  auto save_checkpoint = [&](int64_t done, double elapsed) {
    SavingGuard saving;  // a second Ctrl-C waits for the files to be whole
    log.write();         // first: a kill in between leaves rows past the checkpoint, which a resume drops
    std::map<std::string, std::string> metadata = {{config_key, config_json}, {"train_options", json_io::dump(options_json)}, {"elapsed_s", fmt::format("{}", elapsed)}};
    if (!fingerprint.empty()) metadata["frozen_fingerprint"] = fingerprint;
    nn::save_training_state(result.checkpoint, tensors_to_save(model, !fingerprint.empty()), optimizer.state_dict(), done, metadata);
    saved_step = done;
  };

  // --- the loop
  InterruptScope interrupt;
  Progress progress(o.steps, "train", result.start_step);
  const std::vector<Tensor> params = model.parameters();
  const int64_t tokens_per_step = o.batch_size * o.seq_len * o.accum;
  const Clock::time_point start = Clock::now();
  int64_t step = result.start_step;
  model.train();
  for (; step < o.steps; step++) {
    const Clock::time_point t0 = Clock::now();
    optimizer.zero_grad();
    double loss_sum = 0;
    for (int64_t m = 0; m < o.accum; m++) {
      Generator batch_gen(step_seed(o.seed, step, m, 0));
      model.seed_dropout(step_seed(o.seed, step, m, 1));  // GPT-2's dropout; LLaMA has none
      nn::seed_lora_dropout(model, step_seed(o.seed, step, m, 2));  // LoRA layers' dropout, if any
      data::Batch b = data.train_batch(o.batch_size, o.seq_len, batch_gen);
      Tensor loss = model.loss(b.ids.to(device), b.targets.to(device));
      const double value = loss.item<double>();
      LAB_CHECK(std::isfinite(value), "the training loss is {} at step {} (micro-batch {}): training stopped. {} (HINT: a lower --lr, a longer --warmup, or --clip 1)",
                value, step + 1, m,
                saved_step > 0 ? fmt::format("The last checkpoint, {} at step {}, is kept", result.checkpoint, saved_step) : std::string("No checkpoint was saved"));
      // loss / accum: the grads of the micro-batches add up to the grad of their mean
      ag::backward(ag::mul(loss, 1.0 / double(o.accum)));
      loss_sum += value;
    }
    const double train_loss = loss_sum / double(o.accum);
    if (o.clip > 0) clip_grad_norm(params, o.clip);
    const double lr = schedule.at(step);
    optimizer.options().lr = lr;
    optimizer.step();  // refuses a non-finite grad, naming the parameter, before changing anything
    optimizer.zero_grad();

    const int64_t done = step + 1;
    const Clock::time_point t1 = Clock::now();
    const double step_s = std::chrono::duration<double>(t1 - t0).count();
    const double elapsed = elapsed_before + std::chrono::duration<double>(t1 - start).count();
    double val_loss = NAN;
    if (o.eval_every > 0 && (done % o.eval_every == 0 || done == o.steps)) {
      val_loss = evaluate_loss(model, data, o.batch_size, o.seq_len, o.eval_batches);
      result.val_loss = val_loss;
    }
    log.add({done, train_loss, val_loss, lr, double(tokens_per_step) / step_s, elapsed});
    if (!o.quiet) {
      progress.update(done, {{"loss", train_loss}, {"lr", lr}, {"tok/s", double(tokens_per_step) / step_s}});
      if (std::isfinite(val_loss))
        progress.note(fmt::format("step {:>6}  train loss {:.4f}  val loss {:.4f}  (perplexity {:.2f})", done, train_loss, val_loss, std::exp(val_loss)));
    }
    const bool stop = done < o.steps && (InterruptScope::requested() || (o.stop_at > 0 && done >= o.stop_at));
    if (stop || done == o.steps || (o.save_every > 0 && done % o.save_every == 0)) save_checkpoint(done, elapsed);
    else if (std::isfinite(val_loss)) log.write();
    if (stop) {
      step = done;
      result.status = InterruptScope::requested() ? TrainStatus::interrupted : TrainStatus::stopped;
      break;
    }
  }
  if (!o.quiet) progress.finish();
  const double session_s = std::chrono::duration<double>(Clock::now() - start).count();
  result.step = step;
  result.tokens_per_s = step > result.start_step && session_s > 0 ? double((step - result.start_step) * tokens_per_step) / session_s : 0;
  if (result.status == TrainStatus::finished && result.start_step >= o.steps && !o.quiet)
    fmt::print("the checkpoint is already at step {} of {}: nothing to train (--fresh starts over)\n", result.start_step, o.steps);
  if (!log.rows().empty()) {
    result.first_train_loss = log.rows().front().train_loss;
    result.last_train_loss = log.rows().back().train_loss;
    result.elapsed_s = log.rows().back().elapsed_s;
  }
  if (!std::isfinite(result.val_loss)) {
    for (const LogRow& r : log.rows())
      if (std::isfinite(r.val_loss)) result.val_loss = r.val_loss;
  }
  if (result.status == TrainStatus::interrupted) {
    fmt::print("interrupted at step {}; saved {}; run the same command again to resume\n", result.step, result.checkpoint);
    return result;
  }
  if (result.status == TrainStatus::stopped) {
    if (!o.quiet) fmt::print("stopped at step {} as asked; saved {}; run again without the stop to go on\n", result.step, result.checkpoint);
    return result;
  }
  if (o.save_model) nn::save_causal_lm(model, o.out_dir + "/model");
  return result;
}

}  // namespace lab::train
