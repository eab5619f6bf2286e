// Ctrl-C handling of train/interrupt.h: a signal only sets the flag, a second one during a save is
// ignored, a second one outside a save stops the process (in a forked child), and the handlers
// that were there before come back when the scope ends.
#include <catch2/catch.hpp>

#include "train/interrupt.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace lab;

namespace {
volatile sig_atomic_t g_previous_handler_ran = 0;
extern "C" void previous_handler(int) { g_previous_handler_ran = 1; }
}  // namespace

TEST_CASE("interrupt: SIGINT and SIGTERM set the flag and the old handlers come back") {
  struct sigaction mine = {}, old_int = {}, old_term = {};
  mine.sa_handler = previous_handler;
  sigemptyset(&mine.sa_mask);
  REQUIRE(sigaction(SIGINT, &mine, &old_int) == 0);
  REQUIRE(sigaction(SIGTERM, &mine, &old_term) == 0);
  {
    train::InterruptScope scope;
    CHECK_FALSE(train::InterruptScope::requested());
    CHECK_THROWS_WITH(train::InterruptScope(), Catch::Contains("already active"));
    raise(SIGINT);
    CHECK(train::InterruptScope::requested());
    CHECK(train::InterruptScope::signal() == SIGINT);
    {
      train::SavingGuard saving;
      raise(SIGINT);  // ignored while saving: we are still here
      raise(SIGTERM);
    }
    CHECK(train::InterruptScope::signal() == SIGINT);
    CHECK(g_previous_handler_ran == 0);
  }
  {
    train::InterruptScope scope;  // a new scope starts clear
    CHECK_FALSE(train::InterruptScope::requested());
    raise(SIGTERM);
    CHECK(train::InterruptScope::signal() == SIGTERM);
  }
  raise(SIGINT);  // the previous handler is back
  CHECK(g_previous_handler_ran == 1);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
}

TEST_CASE("interrupt: a second Ctrl-C outside a save stops the process at once") {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    train::InterruptScope scope;
    raise(SIGINT);  // first: the flag
    raise(SIGINT);  // second: the default action, which ends the process
    _exit(0);       // not reached
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
}
