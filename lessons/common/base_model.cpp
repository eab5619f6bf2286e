// The pretrained base of lessons 05-07 (base_model.h): lesson 04's recipe, and the lookup lessons 06
// and 07 share.
#include "lessons/common/base_model.h"

#include "data/dataset.h"
#include "data/task.h"
#include "nn/gpt.h"
#include "nn/gpt_config.h"
#include "tensor/random.h"
#include "train/data_source.h"

#include <fmt/format.h>

#include <filesystem>

namespace lab::lesson {

train::TrainOptions base_training_options() {
  train::TrainOptions t;
  t.steps = 1800, t.batch_size = 16, t.lr = 3e-3, t.min_lr = 3e-4, t.warmup = 30, t.eval_every = 100, t.eval_batches = 8;
  t.save_every = 100;
  return t;
}

std::string find_or_train_base(const std::string& dir, const Options& opt) {
  const std::string config = dir + "/config.json";
  if (std::filesystem::exists(config) && nn::load_gpt_config(config).n_positions >= data::kTaskMaxExampleBytes) {
    fmt::print("base: {} (lesson 04's model)\n", dir);
    return dir;
  }
  nn::GPTConfig c = nn::tiny_gpt_config();  // context 128: a whole task example fits
  train::TrainOptions t = base_training_options();
  t.eval_every = 0, t.save_every = 0;
  if (opt.quick) c.n_layer = 2, c.n_embd = 64, t.steps = 40, t.batch_size = 8, t.warmup = 4;
  t.seq_len = c.n_positions, t.seed = opt.seed, t.out_dir = opt.out_dir + "/base", t.fresh = true, t.quiet = opt.quick;
  fmt::print("no usable base at {} (run ./lab run 04 first to use lesson 04's); training one: {} layers, width {}, context {}, {} steps\n", dir,
             c.n_layer, c.n_embd, c.n_positions, t.steps);
  train::DataSource source;
  source.corpus_seed = opt.seed;
  if (opt.quick) source.corpus_bytes = 100000;
  train::LoadedTokens loaded = train::load_tokens(source, c.vocab_size);
  data::TokenDataset dataset(std::move(loaded.tokens), 0.1, loaded.description);
  Generator gen(opt.seed);
  nn::GPT model(c, gen);
  model.to(opt.device);
  if (train::train_gpt(model, dataset, t).status != train::TrainStatus::finished) throw Interrupted{};
  return t.out_dir + "/model";
}

}  // namespace lab::lesson
