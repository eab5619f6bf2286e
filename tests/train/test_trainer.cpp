// The training loop on a tiny GPT (1 layer, 16 wide, context 16) and a few kB of the generated
// corpus: the loss falls, the files appear, and a run stopped (or killed, or interrupted) and then
// resumed ends bit for bit where a run that was never stopped ends: parameters and AdamW state.
// Dropout is on, so the test also covers reseeding the dropout generator.
#include <catch2/catch.hpp>

#include "data/byte_tokenizer.h"
#include "data/corpus.h"
#include "data/dataset.h"
#include "nn/checkpoint.h"
#include "nn/gpt.h"
#include "nn/gpt_checkpoint.h"
#include "nn/lora.h"
#include "quant/nf4_checkpoint.h"
#include "tensor/all.h"
#include "train/trainer.h"

#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace lab;
namespace fs = std::filesystem;

namespace {

nn::GPTConfig test_config() {
  nn::GPTConfig c;
  c.vocab_size = 256, c.n_positions = 16, c.n_embd = 16, c.n_layer = 1, c.n_head = 2;
  c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0.1;
  return c;
}

const data::TokenDataset& dataset() {
  static const data::TokenDataset d(data::encode_bytes(data::generate_corpus(3, 20000)), 0.1, "test corpus");
  return d;
}

std::shared_ptr<nn::GPT> fresh_model() {
  Generator gen(7);
  return std::make_shared<nn::GPT>(test_config(), gen);
}

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("loralab_train_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir;
}

train::TrainOptions options(const fs::path& out, int64_t steps) {
  train::TrainOptions o;
  o.steps = steps, o.batch_size = 4, o.seq_len = 16, o.accum = 2;
  o.lr = 3e-3, o.min_lr = 3e-4, o.warmup = 2;
  o.eval_every = 5, o.eval_batches = 2, o.save_every = 0;
  o.seed = 42, o.out_dir = out.string(), o.quiet = true, o.save_model = false;
  return o;
}

// Every tensor of the checkpoint (model and optimizer), bit for bit.
void check_same_state(const std::string& got_path, const std::string& want_path) {
  nn::TrainingState got = nn::load_training_state(got_path), want = nn::load_training_state(want_path);
  CHECK(got.step == want.step);
  REQUIRE(got.model.size() == want.model.size());
  REQUIRE(got.optimizer.size() == want.optimizer.size());
  for (const auto* part : {&got.model, &got.optimizer}) {
    const auto& other = part == &got.model ? want.model : want.optimizer;
    for (const auto& [name, t] : *part) {
      INFO(name);
      REQUIRE(other.count(name) == 1);
      if (t.dtype() == DType::i64) CHECK(t.to_vector<int64_t>() == other.at(name).to_vector<int64_t>());
      else CHECK(t.to_vector<float>() == other.at(name).to_vector<float>());
    }
  }
}

}  // namespace

TEST_CASE("train_gpt: the loss falls and loss.csv, loss.svg, the checkpoint and model/ appear") {
  omp_set_num_threads(1);
  fs::path out = fresh_dir("falls");
  auto model = fresh_model();
  train::TrainOptions o = options(out, 40);
  o.lr = 1e-2, o.min_lr = 1e-3;
  o.save_model = true;
  train::TrainResult r = train::train_gpt(*model, dataset(), o);
  CHECK(r.status == train::TrainStatus::finished);
  CHECK(r.start_step == 0);
  CHECK(r.step == 40);
  CHECK(r.first_train_loss > 5.0);  // about ln 256 = 5.55 at the start
  CHECK(r.last_train_loss < r.first_train_loss - 2.0);  // below ln(256) - 2 = 3.5: it learned which bytes are common
  CHECK(r.val_loss < r.first_train_loss - 2.0);
  CHECK(r.tokens_per_s > 0);
  CHECK(fs::file_size(out / "loss.svg") > 0);
  std::ifstream csv(out / "loss.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) lines++;
  CHECK(lines == 41);  // header + one row a step
  CHECK(nn::load_training_state((out / "checkpoint.safetensors").string()).step == 40);
  auto loaded = nn::load_gpt((out / "model").string());
  CHECK(loaded->config() == model->config());
  CHECK(loaded->parameter("wte.weight").to_vector<float>() == model->parameter("wte.weight").to_vector<float>());
  fs::remove_all(out);
}

TEST_CASE("train_gpt: stopped at step 7 and resumed, the run ends bit for bit as one never stopped") {
  omp_set_num_threads(1);
  fs::path straight = fresh_dir("straight"), resumed = fresh_dir("resumed");
  train::train_gpt(*fresh_model(), dataset(), options(straight, 12));

  train::TrainOptions first = options(resumed, 12);
  first.stop_at = 7;
  train::TrainResult r1 = train::train_gpt(*fresh_model(), dataset(), first);
  CHECK(r1.status == train::TrainStatus::stopped);
  CHECK(r1.step == 7);
  auto other_model = fresh_model();  // a different start: the checkpoint replaces it all
  other_model->parameter("wte.weight").fill_(0.5);
  train::TrainResult r2 = train::train_gpt(*other_model, dataset(), options(resumed, 12));
  CHECK(r2.status == train::TrainStatus::finished);
  CHECK(r2.start_step == 7);
  CHECK(r2.step == 12);
  check_same_state((resumed / "checkpoint.safetensors").string(), (straight / "checkpoint.safetensors").string());
  std::ifstream a(straight / "loss.csv"), b(resumed / "loss.csv");
  std::string la, lb;
  int rows = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {  // the same losses and lr, whatever the timings
    CHECK(la.substr(0, la.find(',', la.find(',', la.find(',') + 1) + 1)) == lb.substr(0, lb.find(',', lb.find(',', lb.find(',') + 1) + 1)));
    rows++;
  }
  CHECK(rows == 13);
  fs::remove_all(straight);
  fs::remove_all(resumed);
}

// LoRA on c_attn (r 2, the same A every time): everything else frozen.
static void inject_c_attn_lora(nn::GPT& model) {
  nn::LoraConfig c;
  c.r = 2, c.lora_alpha = 4, c.target_modules = {"c_attn"};
  Generator gen(9);
  nn::inject_lora(model, c, gen);
  model.name_parameters();
}

// The tiny GPT with LoRA on c_attn.
static std::shared_ptr<nn::GPT> lora_model() {
  auto model = fresh_model();
  inject_c_attn_lora(*model);
  return model;
}

TEST_CASE("train_gpt with LoRA: the checkpoint holds only what trains, resumes bit for bit, and refuses another base") {
  omp_set_num_threads(1);
  fs::path straight = fresh_dir("lora_straight"), resumed = fresh_dir("lora_resumed");
  train::train_gpt(*lora_model(), dataset(), options(straight, 10));
  train::TrainOptions first = options(resumed, 10);
  first.stop_at = 6;
  REQUIRE(train::train_gpt(*lora_model(), dataset(), first).status == train::TrainStatus::stopped);
  // only lora_A and lora_B, and a fingerprint of the frozen base in the metadata
  nn::TrainingState saved = nn::load_training_state((resumed / "checkpoint.safetensors").string());
  CHECK(saved.model.size() == 2);
  for (const auto& [name, t] : saved.model) {
    INFO(name);
    CHECK((name.find("lora_A") != std::string::npos || name.find("lora_B") != std::string::npos));
  }
  REQUIRE(saved.metadata.count("frozen_fingerprint") == 1);
  CHECK(saved.metadata.at("frozen_fingerprint").size() == 16);
  // another base (one frozen weight changed) is refused by name
  auto other_base = lora_model();
  other_base->parameter("wte.weight").fill_(0.5);
  CHECK_THROWS_WITH(train::train_gpt(*other_base, dataset(), options(resumed, 10)),
                    Catch::Contains("adapters of another base") && Catch::Contains("fingerprint") && Catch::Contains("--fresh"));
  // the same base: the run ends where the one never stopped ends
  train::TrainResult r = train::train_gpt(*lora_model(), dataset(), options(resumed, 10));
  CHECK(r.start_step == 6);
  CHECK(r.step == 10);
  check_same_state((resumed / "checkpoint.safetensors").string(), (straight / "checkpoint.safetensors").string());
  fs::remove_all(straight);
  fs::remove_all(resumed);
}

TEST_CASE("train_gpt with QLoRA: a base that differs only in its NF4 weights is refused") {
  omp_set_num_threads(1);
  auto qlora_model = [](bool changed) {
    auto model = fresh_model();
    if (changed) model->parameter("h.0.mlp.c_fc.weight").fill_(0.25);  // frozen, and quantized below: only its NF4 codes differ
    quant::quantize_for_qlora(*model, 64, true);
    inject_c_attn_lora(*model);
    return model;
  };
  fs::path out = fresh_dir("qlora_base");
  train::TrainOptions first = options(out, 4);
  first.stop_at = 2;
  REQUIRE(train::train_gpt(*qlora_model(false), dataset(), first).status == train::TrainStatus::stopped);
  CHECK_THROWS_WITH(train::train_gpt(*qlora_model(true), dataset(), options(out, 4)), Catch::Contains("adapters of another base"));
  CHECK(train::train_gpt(*qlora_model(false), dataset(), options(out, 4)).start_step == 2);
  fs::remove_all(out);
}

TEST_CASE("train_gpt: a checkpoint of another model or other options is refused, naming the difference") {
  omp_set_num_threads(1);
  fs::path out = fresh_dir("mismatch");
  train::TrainOptions o = options(out, 3);
  train::train_gpt(*fresh_model(), dataset(), o);
  train::TrainOptions other_lr = o;
  other_lr.lr = 1e-3;
  CHECK_THROWS_WITH(train::train_gpt(*fresh_model(), dataset(), other_lr), Catch::Contains("lr: checkpoint 0.003, now 0.001") && Catch::Contains("--fresh"));
  nn::GPTConfig wider = test_config();
  wider.n_embd = 32;
  Generator gen(1);
  nn::GPT wide(wider, gen);
  CHECK_THROWS_WITH(train::train_gpt(wide, dataset(), o), Catch::Contains("another shape"));
  train::TrainOptions fresh = other_lr;
  fresh.fresh = true;
  CHECK(train::train_gpt(*fresh_model(), dataset(), fresh).start_step == 0);
  train::TrainOptions bad = o;
  bad.seq_len = 17;
  CHECK_THROWS_WITH(train::train_gpt(*fresh_model(), dataset(), bad), Catch::Contains("--seq-len must be in [1, 16]"));
  fs::remove_all(out);
}

TEST_CASE("train_gpt: a non-finite loss stops the run naming the step, and keeps the last checkpoint") {
  omp_set_num_threads(1);
  fs::path out = fresh_dir("nan");
  train::TrainOptions o = options(out, 6);
  o.stop_at = 3;
  auto model = fresh_model();
  train::train_gpt(*model, dataset(), o);
  // A model whose weights are NaN resumes from the checkpoint, so break the checkpoint's model instead.
  nn::TrainingState s = nn::load_training_state((out / "checkpoint.safetensors").string());
  s.model.at("ln_f.weight").fill_(NAN);
  NamedTensors m(s.model.begin(), s.model.end()), opt(s.optimizer.begin(), s.optimizer.end());
  nn::save_training_state((out / "checkpoint.safetensors").string(), m, opt, s.step, s.metadata);
  o.stop_at = 0;
  CHECK_THROWS_WITH(train::train_gpt(*model, dataset(), o), Catch::Contains("the training loss is nan at step 4") && Catch::Contains("step 3, is kept"));
  CHECK(nn::load_training_state((out / "checkpoint.safetensors").string()).step == 3);
  fs::remove_all(out);
}

TEST_CASE("train_gpt: killed (SIGKILL) or interrupted (SIGINT) at random moments, resumed runs end bit for bit as one never stopped") {
  omp_set_num_threads(1);
  const int64_t steps = 30;
  fs::path straight = fresh_dir("kill_straight"), dir = fresh_dir("kill");
  auto start = std::chrono::steady_clock::now();
  train::train_gpt(*fresh_model(), dataset(), options(straight, steps));
  auto run_time = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  int interrupted = 0;
  for (int attempt = 0; attempt < 6; attempt++) {
    const int sig = attempt % 2 == 0 ? SIGKILL : SIGINT;
    fs::remove_all(dir);
    train::TrainOptions o = options(dir, steps);
    o.save_every = 4;
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      train::TrainResult r = train::train_gpt(*fresh_model(), dataset(), o);
      _exit(r.status == train::TrainStatus::interrupted ? 130 : 0);
    }
    std::this_thread::sleep_for(run_time * (attempt + 1) / 8);
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    if (sig == SIGINT && WIFEXITED(status) && WEXITSTATUS(status) == 130) interrupted++;
    if (sig == SIGINT) CHECK(WIFEXITED(status));  // the handler ran: never killed by the signal
    train::TrainResult r = train::train_gpt(*fresh_model(), dataset(), o);
    INFO("attempt " << attempt << " signal " << sig << ": resumed from step " << r.start_step);
    CHECK(r.step == steps);
    check_same_state((dir / "checkpoint.safetensors").string(), (straight / "checkpoint.safetensors").string());
  }
  INFO("SIGINTs that landed during training: " << interrupted);
  fs::remove_all(dir);
  fs::remove_all(straight);
}
