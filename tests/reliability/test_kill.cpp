// Nothing is lost when a run is killed: a checkpoint killed mid-write leaves the previous one whole,
// and a training run killed at a random moment and resumed from its last checkpoint ends with the
// same parameters, bit for bit, as a run that was never interrupted.
//
// The child processes are made with fork() and stopped with SIGKILL (no handler can run, as when
// the machine loses power or the OOM killer strikes). They use no OpenMP threads: the tensors are
// below the size where loops go parallel.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/checkpoint.h"
#include "nn/mlp.h"
#include "optim/adamw.h"
#include "tensor/all.h"
#include "tensor/atomic_file.h"

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

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("loralab_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Runs `child` in a forked process and SIGKILLs it after `delay` (if it has not finished by then).
template <typename F> void run_and_kill(F child, std::chrono::microseconds delay) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    child();
    _exit(0);
  }
  std::this_thread::sleep_for(delay);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a checkpoint writer killed mid-write leaves the previous checkpoint whole") {
  fs::path dir = fresh_dir("kill_write");
  const std::string path = (dir / "state.safetensors").string();
  // Version 1 on disk; version 2 is 16 MB, so writing it takes long enough to be interrupted.
  Tensor v1 = full({1000}, 1.0), v2 = full({4 << 20}, 2.0);
  // How long one write takes here, so the kills can be spread from its start to past its end.
  auto start = std::chrono::steady_clock::now();
  nn::save_training_state(path, {{"w", v2}}, {}, 2);
  auto write_time = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  nn::save_training_state(path, {{"w", v1}}, {}, 1);
  int saw_v1 = 0, saw_v2 = 0;
  for (int attempt = 0; attempt < 12; attempt++) {
    run_and_kill([&] { nn::save_training_state(path, {{"w", v2}}, {}, 2); }, write_time * attempt / 8);
    nn::TrainingState s = nn::load_training_state(path);  // never a torn file
    const Tensor& w = s.model.at("w");
    if (s.step == 1) {
      saw_v1++;
      CHECK(w.to_vector<float>() == v1.to_vector<float>());
    } else {
      saw_v2++;
      REQUIRE(s.step == 2);
      CHECK(w.numel() == v2.numel());
      CHECK(max(w).item<float>() == 2.0f);
      nn::save_training_state(path, {{"w", v1}}, {}, 1);  // back to version 1 for the next attempt
    }
  }
  INFO("one write takes " << write_time.count() << " us; kills that landed before the rename: " << saw_v1 << ", after: " << saw_v2);
  CHECK(saw_v1 + saw_v2 == 12);
  // Each killed writer left its "<path>.tmp.<pid>"; each later save removed those of dead processes.
  nn::save_training_state(path, {{"w", v1}}, {}, 1);
  for (const auto& entry : fs::directory_iterator(dir)) CHECK(entry.path().filename() == "state.safetensors");
  fs::remove_all(dir);
}

TEST_CASE("an atomic write removes the temporaries of dead writers and keeps those of live ones") {
  fs::path dir = fresh_dir("stale_tmp");
  const std::string path = (dir / "config.json").string();
  // pid 999999999 is above Linux's pid_max (at most 2^22): no such process. Our parent is alive.
  const std::string dead = path + ".tmp.999999999", live = path + ".tmp." + std::to_string(getppid()), other = path + ".tmp.abc";
  for (const std::string& p : {dead, live, other}) write_file_atomically(p, "partial");
  write_file_atomically(path, "{}");
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(live));
  CHECK(fs::exists(other));  // not a pid: not ours to judge
  CHECK(read_file(path) == "{}");
  CHECK(remove_stale_temporaries(path) == 0);
  fs::remove_all(dir);
}

namespace {

// A deterministic little training run: full batch, no dropout, so the same start gives the same end.
struct Run {
  Generator gen{11};
  nn::MLP model{4, 16, 3, gen};
  AdamW opt{model.parameters()};
  Tensor x, y;
  Run() {
    Generator data(5);
    x = randn({32, 4}, data);
    std::vector<int64_t> labels(32);
    for (int64_t i = 0; i < 32; i++) labels[size_t(i)] = i % 3;
    y = from_vector(labels);
  }
  void step() {
    Tensor loss = ag::cross_entropy(model.forward(x), y);
    opt.zero_grad();
    ag::backward(loss);
    opt.step();
  }
  void save(const std::string& path) { nn::save_training_state(path, model.state_dict(), opt.state_dict(), opt.steps()); }
  void load(const std::string& path) {
    nn::TrainingState s = nn::load_training_state(path);
    model.load_state_dict(s.model);
    opt.load_state_dict(s.optimizer);
  }
};

constexpr int kSteps = 60, kEvery = 5;

}  // namespace

TEST_CASE("a run killed at a random step and resumed ends with the same parameters as one never killed") {
  Run reference;
  for (int i = 0; i < kSteps; i++) reference.step();
  NamedTensors want = reference.model.state_dict();

  fs::path dir = fresh_dir("kill_resume");
  const std::string path = (dir / "train.safetensors").string();
  for (int delay_ms : {3, 30, 70}) {
    fs::remove(path);
    // The child trains, checkpointing every 5 steps, and is killed somewhere along the way.
    run_and_kill([&] {
      Run run;
      for (int i = 1; i <= kSteps; i++) {
        run.step();
        if (i % kEvery == 0) run.save(path);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }, std::chrono::milliseconds(delay_ms));
    Run resumed;
    if (fs::exists(path)) resumed.load(path);
    int64_t done = resumed.opt.steps();
    INFO("killed after " << delay_ms << " ms; resumed from step " << done);
    CHECK(done % kEvery == 0);
    while (resumed.opt.steps() < kSteps) resumed.step();
    NamedTensors got = resumed.model.state_dict();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); i++) {
      INFO(got[i].first);
      CHECK(got[i].second.to_vector<float>() == want[i].second.to_vector<float>());
    }
  }
  fs::remove_all(dir);
}
