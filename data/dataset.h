// Batches for next-token prediction: windows of a token stream, each with its targets shifted by one.
//
//   tokens   t0 t1 t2 t3 t4 t5 ...
//   ids      [t1 t2 t3]          a window of seq_len T starting at s
//   targets  [t2 t3 t4]          targets[b, t] = the token after ids[b, t]
//
// The stream is split once: the first part trains, the last val_fraction validates, and no window
// crosses the split. Training windows start anywhere (drawn from a Generator); validation windows
// tile the validation part in order, so a validation loss is the same number every time.
// Not here: tokenizing (byte_tokenizer.h), the loss (tensor/loss.h), the loop (train/).
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lab::data {

struct Batch {
  Tensor ids, targets;  // i64 [B, T] on the CPU
};

class TokenDataset {
public:
  // The last val_fraction (in (0, 1)) of `tokens` is validation, the rest training. Each part needs at
  // least 2 tokens (a window of 1 and its target), else an error naming `source` and the counts.
  TokenDataset(std::vector<int64_t> tokens, double val_fraction, const std::string& source);

  // `batch` windows of `seq_len` from the training part, each start uniform over all that fit.
  Batch train_batch(int64_t batch, int64_t seq_len, Generator& gen) const;
  // Batch `index` of the validation windows: window w starts at w * seq_len, batch i holds windows
  // i*batch ... i*batch + batch-1, counted modulo the number of windows (the last batch wraps to the
  // first windows), and index is taken modulo num_val_batches.
  Batch val_batch(int64_t batch, int64_t seq_len, int64_t index) const;

  int64_t train_tokens() const { return n_train_; }
  int64_t val_tokens() const { return int64_t(tokens_.size()) - n_train_; }
  // ceil(windows / batch): evaluating batches 0 .. num_val_batches-1 sees every validation window.
  int64_t num_val_batches(int64_t batch, int64_t seq_len) const;

private:
  // Checks batch and seq_len, and that the part (train or validation) of `n` tokens fits one window.
  void check_window(const char* part, int64_t n, int64_t batch, int64_t seq_len) const;

  std::vector<int64_t> tokens_;
  int64_t n_train_ = 0;
  std::string source_;
};

}  // namespace lab::data
