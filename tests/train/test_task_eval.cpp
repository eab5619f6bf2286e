// Task accuracy by greedy decoding (train/task_eval.h). A model whose ln_f weight is 0 writes the
// same token whatever it reads (logits = ln_f.bias . wte[v]), so its answers, and therefore its
// score, are known in advance; a randomly initialized model on the real task is then scored by hand
// from the answers evaluate_task returns. A LLaMA is made constant the same way (its residual stream
// kept at the embedding), so the family-neutral path (nn::CausalLM) is scored too.
#include "train/task_eval.h"
#include "train/copy_probe.h"

#include "autograd/autograd.h"
#include "data/task.h"
#include "nn/gpt.h"
#include "nn/llama.h"
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

// A LLaMA that always writes `token`: o_proj and down_proj are 0, so the residual stream is the
// embedding; column 0 of every embedding is 1 and norm.weight is e_0, so norm(x) = (1 / rms(x)) e_0 > 0;
// lm_head is 0 but for a 1 at [token, 0]: that logit is positive and every other is 0.
std::shared_ptr<nn::Llama> constant_llama(int64_t token, int64_t vocab = 256) {
  nn::LlamaConfig c;
  c.vocab_size = vocab, c.hidden_size = 8, c.intermediate_size = 16, c.num_hidden_layers = 1, c.num_attention_heads = 2,
  c.num_key_value_heads = 1, c.max_position_embeddings = 16;
  Generator gen(1);
  auto model = std::make_shared<nn::Llama>(c, gen);
  model->parameter("model.layers.0.self_attn.o_proj.weight").fill_(0);
  model->parameter("model.layers.0.mlp.down_proj.weight").fill_(0);
  model->parameter("model.embed_tokens.weight").select(1, 0).fill_(1);
  model->parameter("model.norm.weight").fill_(0);
  model->parameter("model.norm.weight").at<float>({0}) = 1;
  Tensor& head = model->parameter("lm_head.weight");
  head.fill_(0);
  head.at<float>({token, 0}) = 1;
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

// --- copy_probe (train/copy_probe.h): the base's copying, before any fine-tuning.
TEST_CASE("copy_probe asks about one of its facts and scores greedy answers exactly") {
  nn::GPTConfig c = small_config();
  c.n_positions = 128;  // the probe's prompts are up to about 90 bytes
  Generator gen(2);
  nn::GPT model(c, gen);
  for (int64_t facts = 1; facts <= 3; facts++) {
    train::CopyProbeResult r = train::copy_probe(model, facts, 5, 7);
    CHECK(r.facts == facts);
    CHECK(r.total == 5);
    CHECK(r.correct >= 0);
    CHECK(r.correct <= 5);
    CHECK(r.accuracy == Approx(double(r.correct) / 5));
    // "A has a C O. B has a C' O'. A's O is": `facts` facts, then the question.
    size_t has = 0;
    for (size_t at = r.example_prompt.find(" has "); at != std::string::npos; at = r.example_prompt.find(" has ", at + 1)) has++;
    CHECK(int64_t(has) == facts);
    CHECK(r.example_prompt.size() > 3);
    CHECK(r.example_prompt.substr(r.example_prompt.size() - 3) == " is");
    // The same seed, the same prompts and answers.
    train::CopyProbeResult again = train::copy_probe(model, facts, 5, 7);
    CHECK(again.example_prompt == r.example_prompt);
    CHECK(again.correct == r.correct);
  }
  CHECK(train::copy_probe(model, 2, 3, 8).example_prompt != train::copy_probe(model, 2, 3, 9).example_prompt);
}

TEST_CASE("copy_probe scores a model that never writes a colour at zero, and refuses bad arguments") {
  // A model that writes ' ' forever (as constant_model, with a context the prompts fit) never
  // produces " colour.".
  nn::GPTConfig c = small_config();
  c.n_positions = 128;
  Generator gen(1);
  nn::GPT model(c, gen);
  model.parameter("ln_f.weight").fill_(0);
  model.parameter("ln_f.bias").fill_(0);
  model.parameter("ln_f.bias").at<float>({0}) = 1;
  model.parameter("wte.weight").select(1, 0).fill_(0);
  model.parameter("wte.weight").at<float>({' ', 0}) = 1;
  train::CopyProbeResult r = train::copy_probe(model, 2, 4, 0);
  CHECK(r.correct == 0);
  CHECK(r.example_generated == std::string(8, ' '));
  CHECK_THROWS_WITH(train::copy_probe(model, 0, 4, 0), Catch::Contains("facts is 0"));
  CHECK_THROWS_WITH(train::copy_probe(model, 1, 0, 0), Catch::Contains("count is 0"));
  nn::GPT short_context(small_config(), gen);  // context 16: no prompt fits
  CHECK_THROWS_WITH(train::copy_probe(short_context, 1, 1, 0), Catch::Contains("does not fit"));
  nn::GPT big_vocab(small_config(300), gen);
  CHECK_THROWS_WITH(train::copy_probe(big_vocab, 1, 1, 0), Catch::Contains("byte-level"));
}

TEST_CASE("evaluate_task on a LLaMA: a constant one is scored as the GPT is, and one not byte-level is refused") {
  auto model = constant_llama('a');
  model->train();
  std::vector<data::TaskExample> examples = {
      {"q: one?\na:", "aaa"},
      {"q: two?\na:", " red"},
      {"a prompt longer than the sixteen tokens of context\na:", "aaa"},
  };
  train::TaskScore s = train::evaluate_task(*model, examples, 3);
  CHECK(s.correct == 2);
  REQUIRE(s.answers.size() == 3);
  for (const train::TaskAnswer& a : s.answers) CHECK(a.generated == "aaa");
  CHECK_FALSE(s.answers[1].correct);
  CHECK(model->is_training());
  train::TaskScore stop = train::evaluate_task(*constant_llama('\n'), {{"q: x?\na:", ""}}, 16);
  CHECK(stop.answers.at(0).generated == "\n");
  CHECK(stop.correct == 1);
  CHECK_THROWS_WITH(train::evaluate_task(*constant_llama('a', 300), examples),
                    Catch::Contains("byte-level") && Catch::Contains("llama model has vocab_size 300"));
}
