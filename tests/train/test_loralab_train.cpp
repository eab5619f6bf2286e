// `loralab train` as a user runs it: exit 2 for a bad command line, 1 for a run that cannot go on,
// 0 for a finished run (model/ written), 130 after Ctrl-C with the checkpoint saved, and the same
// command resuming from it. LAB_LORALAB_BINARY comes from CMake.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kOut = fs::temp_directory_path() / ("loralab_cli_train_" + std::to_string(getpid()));
const std::string kTiny = " --n-layer 1 --n-head 2 --n-embd 16 --context 16 --batch 4 --corpus-bytes 20000 --eval-every 10 --eval-batches 2";

// Runs `loralab train <args>` with its output in kOut.log; returns the exit status.
int loralab_train(const std::string& args) {
  const std::string command = std::string("'") + LAB_LORALAB_BINARY + "' train" + args + " > '" + kOut.string() + ".log' 2>&1";
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string log_text() {
  std::ifstream in(kOut.string() + ".log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("loralab train: bad command lines exit 2, a run that cannot start exits 1") {
  fs::remove_all(kOut);
  CHECK(loralab_train(" --batch 0 --out " + kOut.string()) == 2);
  CHECK(loralab_train(" --model /nonexistent --n-layer 2") == 2);
  CHECK(loralab_train(" --resume --fresh") == 2);
  CHECK(loralab_train(" --resume --out " + kOut.string() + kTiny) == 1);
  CHECK(log_text().find("no " + kOut.string() + "/checkpoint.safetensors to resume") != std::string::npos);
  CHECK(loralab_train(" --n-embd 15 --n-head 2 --out " + kOut.string()) == 1);
  CHECK(loralab_train(" --seq-len 17 --steps 2 --out " + kOut.string() + kTiny) == 1);
  CHECK(log_text().find("--seq-len must be in [1, 16]") != std::string::npos);
  fs::remove_all(kOut);
  fs::remove(kOut.string() + ".log");
}

TEST_CASE("loralab train: finishes with model/, stops on Ctrl-C with exit 130, and the same command resumes") {
  fs::remove_all(kOut);
  REQUIRE(loralab_train(" --steps 20 --out " + kOut.string() + kTiny) == 0);
  CHECK(fs::file_size(kOut / "model" / "model.safetensors") > 0);
  CHECK(fs::file_size(kOut / "loss.csv") > 0);
  REQUIRE(loralab_train(" --steps 20 --out " + kOut.string() + kTiny) == 0);  // already done: nothing to train
  CHECK(log_text().find("nothing to train") != std::string::npos);
  CHECK(loralab_train(" --steps 20 --lr 0.002 --out " + kOut.string() + kTiny) == 1);  // other options: refused
  CHECK(log_text().find("other training options (lr: checkpoint 0.001, now 0.002)") != std::string::npos);

  // A long run, interrupted: loralab itself is the child (exec, no shell between), and gets SIGINT.
  std::vector<std::string> words = {"loralab", "train", "--steps", "1000000", "--fresh", "--out", kOut.string()};
  std::istringstream tiny(kTiny);
  for (std::string w; tiny >> w;) words.push_back(w);
  fs::remove_all(kOut);  // so that loss.csv below is this run's
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    FILE* log = std::fopen((kOut.string() + ".log").c_str(), "w");
    if (!log) _exit(99);
    dup2(fileno(log), 1);
    dup2(fileno(log), 2);
    execv(LAB_LORALAB_BINARY, argv.data());
    _exit(98);
  }
  // loss.csv appears at the first evaluation (step 10), inside the loop, where Ctrl-C is handled.
  for (int i = 0; i < 2000 && !fs::exists(kOut / "loss.csv"); i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  const std::string text = log_text();
  INFO(text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
  const size_t at = text.find("interrupted at step ");
  REQUIRE(at != std::string::npos);
  const long step = std::stol(text.substr(at + 20));
  CHECK(text.find("saved " + kOut.string() + "/checkpoint.safetensors; run the same command again to resume") != std::string::npos);
  // The same command (without --fresh) resumes at that step; --stop-at ends it two steps later.
  CHECK(loralab_train(" --steps 1000000 --stop-at " + std::to_string(step + 2) + " --out " + kOut.string() + kTiny) == 0);
  CHECK(log_text().find("resuming from " + kOut.string() + "/checkpoint.safetensors at step " + std::to_string(step)) != std::string::npos);
  CHECK(log_text().find("stopped at step " + std::to_string(step + 2)) != std::string::npos);
  fs::remove_all(kOut);
  fs::remove(kOut.string() + ".log");
}
