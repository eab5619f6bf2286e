// TokenDataset: targets are the ids shifted by one, no window crosses the train/validation split,
// validation batches tile the validation part in order, and a part too short is an error.
#include <catch2/catch.hpp>

#include "data/dataset.h"
#include "tensor/error.h"

#include <numeric>
#include <set>

using namespace lab;
using namespace lab::data;

// tokens[i] = i, so a window's values are its positions.
static std::vector<int64_t> counting(int64_t n) {
  std::vector<int64_t> v(size_t(n), 0);
  std::iota(v.begin(), v.end(), int64_t(0));
  return v;
}

TEST_CASE("dataset: the split is the last val_fraction, rounded") {
  TokenDataset d(counting(1000), 0.1, "c");
  CHECK(d.train_tokens() == 900);
  CHECK(d.val_tokens() == 100);
  TokenDataset e(counting(100), 0.29, "c");  // 28.999999999999996 rounds to 29
  CHECK(e.val_tokens() == 29);
  CHECK(e.train_tokens() == 71);
}

TEST_CASE("dataset: train windows are shifted by one and stay in the train part") {
  TokenDataset d(counting(1000), 0.1, "c");
  Generator gen(1);
  std::set<int64_t> starts;
  for (int step = 0; step < 50; step++) {
    Batch b = d.train_batch(4, 16, gen);
    REQUIRE(b.ids.shape() == Shape{4, 16});
    REQUIRE(b.targets.shape() == Shape{4, 16});
    CHECK(b.ids.dtype() == DType::i64);
    CHECK(b.targets.dtype() == DType::i64);
    std::vector<int64_t> ids = b.ids.to_vector<int64_t>(), targets = b.targets.to_vector<int64_t>();
    for (int64_t r = 0; r < 4; r++) {
      int64_t s = ids[size_t(r * 16)];
      starts.insert(s);
      for (int64_t t = 0; t < 16; t++) {
        CHECK(ids[size_t(r * 16 + t)] == s + t);          // a contiguous window
        CHECK(targets[size_t(r * 16 + t)] == s + t + 1);  // targets[b, t] = the token after ids[b, t]
      }
      CHECK(s + 16 < 900);  // the last target is still a training token
    }
  }
  CHECK(starts.size() > 150);  // 200 windows drawn from 884 starts: spread out
  // a window as long as the train part allows: every draw is the one start that fits
  TokenDataset small(counting(20), 0.5, "c");
  Batch full = small.train_batch(3, 9, gen);
  CHECK(full.ids.to_vector<int64_t>()[0] == 0);
  CHECK(full.targets.to_vector<int64_t>()[8] == 9);
  // the same generator state gives the same batch
  Generator g1(7), g2(7);
  CHECK(d.train_batch(2, 8, g1).ids.to_vector<int64_t>() == d.train_batch(2, 8, g2).ids.to_vector<int64_t>());
}

TEST_CASE("dataset: validation batches tile the validation part in order and wrap") {
  TokenDataset d(counting(1000), 0.1, "c");  // validation = tokens 900 ... 999
  // (100 - 1) / 10 = 9 windows of 10, starting at 900, 910, ..., 980; batches of 4: 3 batches
  CHECK(d.num_val_batches(4, 10) == 3);
  std::vector<int64_t> seen;
  for (int64_t i = 0; i < 3; i++) {
    Batch b = d.val_batch(4, 10, i);
    std::vector<int64_t> ids = b.ids.to_vector<int64_t>(), targets = b.targets.to_vector<int64_t>();
    for (int64_t r = 0; r < 4; r++) {
      seen.push_back(ids[size_t(r * 10)]);
      for (int64_t t = 0; t < 10; t++) CHECK(targets[size_t(r * 10 + t)] == ids[size_t(r * 10 + t)] + 1);
    }
  }
  // in order; the last batch wraps to the first windows
  CHECK(seen == std::vector<int64_t>{900, 910, 920, 930, 940, 950, 960, 970, 980, 900, 910, 920});
  // index wraps, negative too; and the same index is the same batch
  CHECK(d.val_batch(4, 10, 3).ids.to_vector<int64_t>() == d.val_batch(4, 10, 0).ids.to_vector<int64_t>());
  CHECK(d.val_batch(4, 10, -1).ids.to_vector<int64_t>() == d.val_batch(4, 10, 2).ids.to_vector<int64_t>());
  // the last window ends exactly at the last token
  TokenDataset exact(counting(121), 0.5, "c");  // validation = 60 ... 120: 61 tokens, 6 windows of 10
  CHECK(exact.num_val_batches(6, 10) == 1);
  CHECK(exact.val_batch(6, 10, 0).targets.to_vector<int64_t>().back() == 120);
  CHECK(exact.num_val_batches(1, 60) == 1);
  CHECK(exact.num_val_batches(100, 1) == 1);  // 60 windows of one
}

TEST_CASE("dataset: too short a part is an error naming the source, the counts and what is needed") {
  CHECK_THROWS_WITH(TokenDataset(counting(10), 0.04, "tiny.txt"),
                    Catch::Contains("tiny.txt: 10 tokens split into 10 for training and 0 for validation") &&
                        Catch::Contains("at least 2 tokens"));
  CHECK_THROWS_WITH(TokenDataset(counting(3), 0.5, "three"), Catch::Contains("three: 3 tokens split into 1 for training and 2"));
  CHECK_THROWS_WITH(TokenDataset({}, 0.5, "none"), Catch::Contains("none: 0 tokens"));
  CHECK_THROWS_WITH(TokenDataset(counting(100), 0.0, "c"), Catch::Contains("val_fraction is 0"));
  CHECK_THROWS_WITH(TokenDataset(counting(100), 1.0, "c"), Catch::Contains("val_fraction is 1"));
  CHECK_THROWS_WITH(TokenDataset(counting(100), std::nan(""), "c"), Catch::Contains("val_fraction is nan"));

  TokenDataset d(counting(200), 0.1, "corpus.txt");  // 180 train, 20 validation
  Generator gen(0);
  CHECK_THROWS_WITH(d.train_batch(2, 180, gen),
                    Catch::Contains("corpus.txt: the training part has 180 tokens, too few for one window of seq_len 180 (needs 181 tokens") &&
                        Catch::Contains("at most 179"));
  CHECK_NOTHROW(d.train_batch(2, 179, gen));
  CHECK_THROWS_WITH(d.val_batch(2, 20, 0), Catch::Contains("corpus.txt: the validation part has 20 tokens") && Catch::Contains("needs 21 tokens"));
  CHECK_THROWS_WITH(d.num_val_batches(1, 32), Catch::Contains("validation part has 20 tokens"));
  CHECK_NOTHROW(d.val_batch(2, 19, 0));
  CHECK_THROWS_WITH(d.train_batch(0, 8, gen), Catch::Contains("batch 0 and seq_len 8"));
  CHECK_THROWS_WITH(d.val_batch(2, 0, 0), Catch::Contains("batch 2 and seq_len 0"));
}
