// Task accuracy by greedy decoding (train/task_eval.h). A model whose ln_f weight is 0 writes the
// same token whatever it reads (logits = ln_f.bias . wte[v]), so its answers, and therefore its
// score, are known in advance; a randomly initialized model on the real task is then scored by hand
// from the answers evaluate_task returns.
#include "train/task_eval.h"

#include "autograd/autograd.h"
#include "data/task.h"
#include "tensor/random.h"

#include <catch2/catch.hpp>

#include <memory>

using namespace lab;

namespace {

nn::GPTConfig small_config(int64_t vocab = 256) {
  nn::GPTConfig c;
  c.vocab_size = vocab;
  c.n_positions = 16;
  c.n_embd = 8;
  c.n_layer = 1;
  c.n_head = 2;
  return c;
}

// A GPT that always writes `token`: ln_f(x) = ln_f.bias = e_0, and only wte[token] has a 1 in column 0.
std::shared_ptr<nn::GPT> constant_model(int64_t token) {
  Generator gen(1);
  auto model = std::make_shared<nn::GPT>(small_config(), gen);
  model->parameter("ln_f.weight").fill_(0);
  model->parameter("ln_f.bias").fill_(0);
  model->parameter("ln_f.bias").at<float>({0}) = 1;
  Tensor& wte = model->parameter("wte.weight");
  wte.select(1, 0).fill_(0);
  wte.at<float>({token, 0}) = 1;
  return model;
}

}  // namespace

TEST_CASE("evaluate_task scores a model whose answer is known") {
  auto model = constant_model('a');
  std::vector<data::TaskExample> examples = {
      {"q: one?\na:", "aaa"},
      {"q: two?\na:", " red"},
      {"a prompt longer than the sixteen tokens of context\na:", "aaa"},
  };
  train::TaskScore s = train::evaluate_task(*model, examples, 3);
  CHECK(s.total == 3);
  CHECK(s.correct == 2);
  CHECK(s.accuracy == Approx(2.0 / 3.0));
  REQUIRE(s.answers.size() == 3);
  for (const train::TaskAnswer& a : s.answers) CHECK(a.generated == "aaa");  // stopped by the limit of 3
  CHECK(s.answers[0].correct);
  CHECK_FALSE(s.answers[1].correct);
  CHECK(s.answers[1].expected == " red");
  CHECK(s.answers[2].prompt == examples[2].prompt);

  // A longer limit: "aaaa..." no longer equals "aaa".
  CHECK(train::evaluate_task(*model, examples, 5).correct == 0);
}

TEST_CASE("evaluate_task stops at the first newline") {
  auto model = constant_model('\n');
  std::vector<data::TaskExample> examples = {{"q: x?\na:", ""}, {"q: y?\na:", " blue"}};
  train::TaskScore s = train::evaluate_task(*model, examples, 16);
  REQUIRE(s.answers.size() == 2);
  CHECK(s.answers[0].generated == "\n");  // one token, not 16
  CHECK(s.correct == 1);
  CHECK(s.answers[0].correct);
}

TEST_CASE("evaluate_task restores the training mode and keeps only keep_answers answers") {
  auto model = constant_model('b');
  std::vector<data::TaskExample> examples(5, data::TaskExample{"q?\na:", "b"});
  model->train();
  train::TaskScore s = train::evaluate_task(*model, examples, 1, 2);
  CHECK(model->is_training());
  CHECK(ag::grad_enabled());
  CHECK(s.total == 5);
  CHECK(s.correct == 5);
  CHECK(s.accuracy == 1.0);
  CHECK(s.answers.size() == 2);
  model->eval();
  train::evaluate_task(*model, examples, 1);
  CHECK_FALSE(model->is_training());
  CHECK(train::evaluate_task(*model, {}, 4).accuracy == 0.0);
}

TEST_CASE("evaluate_task on the real task: deterministic, and its count agrees with the answers it returns") {
  Generator gen(7);
  nn::GPT model(small_config(), gen);
  std::vector<data::TaskExample> examples = data::make_task(3, 6, data::TaskSplit::test);
  train::TaskScore a = train::evaluate_task(model, examples, 8, 6);
  train::TaskScore b = train::evaluate_task(model, examples, 8, 6);
  REQUIRE(a.answers.size() == 6);
  int64_t by_hand = 0;
  for (size_t i = 0; i < a.answers.size(); i++) {
    CHECK(a.answers[i].generated == b.answers[i].generated);
    CHECK(a.answers[i].expected == examples[i].answer);
    CHECK(a.answers[i].generated.size() <= 8);
    bool match = data::task_answer_matches(examples[i], a.answers[i].generated);
    CHECK(a.answers[i].correct == match);
    by_hand += match ? 1 : 0;
  }
  CHECK(a.correct == by_hand);
  CHECK(a.accuracy == Approx(double(by_hand) / 6.0));
  CHECK(a.accuracy >= 0.0);
  CHECK(a.accuracy <= 1.0);
}

TEST_CASE("evaluate_task refuses a model that is not byte-level, and a non-positive answer limit") {
  Generator gen(2);
  nn::GPT model(small_config(300), gen);
  std::vector<data::TaskExample> examples = {{"q?\na:", " x"}};
  CHECK_THROWS_WITH(train::evaluate_task(model, examples), Catch::Contains("byte-level") && Catch::Contains("vocab_size 300"));
  auto byte_model = constant_model('a');
  CHECK_THROWS_WITH(train::evaluate_task(*byte_model, examples, 0), Catch::Contains("max_answer_tokens must be positive"));
}
