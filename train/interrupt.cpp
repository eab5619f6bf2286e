// The signal handlers of interrupt.h. Everything the handler reads or writes is a volatile
// sig_atomic_t; anything else (a std::string, fmt::print, malloc) is not safe inside a handler.
#include "train/interrupt.h"

#include "tensor/error.h"

#include <signal.h>

namespace lab::train {

namespace {

volatile sig_atomic_t g_active = 0;     // a scope is alive
volatile sig_atomic_t g_signal = 0;     // the first signal received, 0 for none
volatile sig_atomic_t g_saving = 0;     // a SavingGuard is alive
struct sigaction g_old_int, g_old_term;  // what was there before the scope

extern "C" void on_signal(int sig) {
  if (g_signal == 0) {
    g_signal = sig;  // the loop stops after this step
  } else if (g_saving == 0) {
    // A second Ctrl-C outside a save: stop now, as the user asks, with the handler that was there.
    sigaction(sig, sig == SIGINT ? &g_old_int : &g_old_term, nullptr);
    raise(sig);
  }
}

}  // namespace

InterruptScope::InterruptScope() {
  LAB_CHECK(g_active == 0, "InterruptScope: another scope is already active (one training loop at a time per process)");
  g_signal = 0;
  g_saving = 0;
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a read() or write() in progress carries on instead of failing with EINTR
  LAB_CHECK(sigaction(SIGINT, &sa, &g_old_int) == 0, "InterruptScope: cannot install the SIGINT handler");
  LAB_CHECK(sigaction(SIGTERM, &sa, &g_old_term) == 0, "InterruptScope: cannot install the SIGTERM handler");
  g_active = 1;
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_active = 0;
}

bool InterruptScope::requested() { return g_signal != 0; }
int InterruptScope::signal() { return g_signal; }

SavingGuard::SavingGuard() { g_saving = 1; }
SavingGuard::~SavingGuard() { g_saving = 0; }

}  // namespace lab::train
