// TokenDataset: see dataset.h.
#include "data/dataset.h"

#include "data/world.h"
#include "tensor/error.h"

#include <cmath>

namespace lab::data {

namespace {

// ids[b, :] = tokens[s_b, s_b + T), targets[b, :] = tokens[s_b + 1, s_b + T + 1)
Batch gather_windows(const std::vector<int64_t>& tokens, const std::vector<int64_t>& starts, int64_t seq_len) {
  int64_t B = int64_t(starts.size());
  Batch out{Tensor::empty({B, seq_len}, DType::i64), Tensor::empty({B, seq_len}, DType::i64)};
  int64_t* ids = out.ids.data<int64_t>();
  int64_t* targets = out.targets.data<int64_t>();
  for (int64_t b = 0; b < B; b++) {
    const int64_t* w = tokens.data() + starts[size_t(b)];
    for (int64_t t = 0; t < seq_len; t++) {
      ids[b * seq_len + t] = w[t];
      targets[b * seq_len + t] = w[t + 1];
    }
  }
  return out;
}

}  // namespace

TokenDataset::TokenDataset(std::vector<int64_t> tokens, double val_fraction, const std::string& source)
    : tokens_(std::move(tokens)), source_(source) {
  LAB_CHECK(std::isfinite(val_fraction) && val_fraction > 0 && val_fraction < 1,
            "{}: val_fraction is {}, expected a number between 0 and 1 (HINT: 0.1 keeps the last tenth for validation)", source_, val_fraction);
  int64_t n = int64_t(tokens_.size());
  // n_val = round(n * val_fraction): the last n_val tokens validate
  int64_t n_val = std::llround(double(n) * val_fraction);
  n_train_ = n - n_val;
  LAB_CHECK(n_train_ >= 2 && n_val >= 2,
            "{}: {} tokens split into {} for training and {} for validation (val_fraction {}); each part needs at least 2 tokens "
            "(a window of 1 and its target) (HINT: give more text, or change val_fraction)",
            source_, n, n_train_, n_val, val_fraction);
}

void TokenDataset::check_window(const char* part, int64_t n, int64_t batch, int64_t seq_len) const {
  LAB_CHECK(batch >= 1 && seq_len >= 1, "{}: batch {} and seq_len {}: both must be at least 1", source_, batch, seq_len);
  LAB_CHECK(seq_len < n,
            "{}: the {} part has {} tokens, too few for one window of seq_len {} (needs {} tokens: the window and the target after it) "
            "(HINT: lower --seq-len to at most {}, or give more text)",
            source_, part, n, seq_len, seq_len + 1, n - 1);
}

Batch TokenDataset::train_batch(int64_t batch, int64_t seq_len, Generator& gen) const {
  check_window("training", n_train_, batch, seq_len);
  // starts s in [0, n_train - seq_len - 1], so that the last target, s + seq_len, stays in the train part
  std::vector<int64_t> starts(static_cast<size_t>(batch));
  for (int64_t& s : starts) s = world::uniform_index(gen, n_train_ - seq_len);
  return gather_windows(tokens_, starts, seq_len);
}

int64_t TokenDataset::num_val_batches(int64_t batch, int64_t seq_len) const {
  check_window("validation", val_tokens(), batch, seq_len);
  // windows = floor((n_val - 1) / T): window w needs tokens w*T ... w*T + T
  int64_t windows = (val_tokens() - 1) / seq_len;
  return (windows + batch - 1) / batch;
}

Batch TokenDataset::val_batch(int64_t batch, int64_t seq_len, int64_t index) const {
  int64_t n_batches = num_val_batches(batch, seq_len);
  int64_t windows = (val_tokens() - 1) / seq_len;
  int64_t i = ((index % n_batches) + n_batches) % n_batches;
  std::vector<int64_t> starts(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; b++) starts[size_t(b)] = n_train_ + ((i * batch + b) % windows) * seq_len;
  return gather_windows(tokens_, starts, seq_len);
}

}  // namespace lab::data
