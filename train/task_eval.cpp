// Task accuracy by greedy decoding: see task_eval.h.
#include "train/task_eval.h"

#include "autograd/autograd.h"
#include "data/byte_tokenizer.h"
#include "nn/sample.h"

namespace lab::train {

namespace {

// Puts the model back in the mode it was in, however evaluate_task returns.
class EvalModeGuard {
public:
  explicit EvalModeGuard(nn::Module& m) : model_(m), was_training_(m.is_training()) { model_.eval(); }
  ~EvalModeGuard() { model_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

private:
  nn::Module& model_;
  bool was_training_;
};

}  // namespace

TaskScore evaluate_task(nn::CausalLM& model, const std::vector<data::TaskExample>& examples, int64_t max_answer_tokens,
                        int64_t keep_answers) {
  LAB_CHECK(max_answer_tokens > 0, "evaluate_task: max_answer_tokens must be positive, got {}", max_answer_tokens);
  LAB_CHECK(keep_answers >= 0, "evaluate_task: keep_answers must be non-negative, got {}", keep_answers);
  LAB_CHECK(model.vocab_size() == data::kByteVocab,
            "evaluate_task: the task is text, so the model must be byte-level (vocab_size {}), this {} model has vocab_size {} "
            "(HINT: train it with loralab train or lesson 04, which use the byte tokenizer)",
            data::kByteVocab, model.family(), model.vocab_size());
  EvalModeGuard eval_mode(model);
  ag::NoGradGuard no_grad;

  nn::SampleOptions greedy;
  greedy.temperature = 0;
  TaskScore score;
  for (const data::TaskExample& example : examples) {
    LAB_CHECK(!example.prompt.empty(), "evaluate_task: example {} has an empty prompt", score.total);
    std::vector<int64_t> answer = nn::generate(model, data::encode_bytes(example.prompt), max_answer_tokens, greedy,
                                               [](int64_t token) { return token == '\n'; });
    TaskAnswer a{example.prompt, example.answer, data::decode_bytes(answer), false};
    a.correct = data::task_answer_matches(example, a.generated);
    score.correct += a.correct ? 1 : 0;
    score.total += 1;
    if (int64_t(score.answers.size()) < keep_answers) score.answers.push_back(std::move(a));
  }
  score.accuracy = score.total > 0 ? double(score.correct) / double(score.total) : 0.0;
  return score;
}

}  // namespace lab::train
