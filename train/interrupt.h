// Ctrl-C without losing work: while an InterruptScope lives, SIGINT and SIGTERM only set a flag,
// which the training loop reads after each step; it then saves a checkpoint and returns.
//
//   first signal                  requested() becomes true; the current step finishes
//   another one while saving      ignored: the checkpoint is written whole (SavingGuard marks it)
//   another one otherwise         the old behaviour: the process stops at once (the last
//                                 checkpoint on disk is whole, since every save is atomic)
//
// The handler only touches a volatile sig_atomic_t and calls signal()/raise(), which are
// async-signal-safe. The destructor puts back the handlers that were there before. One scope at a
// time per process. Not here: what to do with the flag (train/trainer.cpp), exit codes (main()).
#pragma once

namespace lab::train {

class InterruptScope {
public:
  InterruptScope();   // installs the handlers; a lab::Error if another scope is alive
  ~InterruptScope();  // restores the previous handlers
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  static bool requested();  // a signal arrived since the scope began
  static int signal();      // which one (SIGINT or SIGTERM); 0 when none
};

// While one lives, further signals are ignored (the scope keeps them as requested()).
class SavingGuard {
public:
  SavingGuard();
  ~SavingGuard();
  SavingGuard(const SavingGuard&) = delete;
  SavingGuard& operator=(const SavingGuard&) = delete;
};

}  // namespace lab::train
