// Task accuracy: how many of the downstream task's questions a model answers exactly, by greedy
// decoding. Lessons 05 and 06 print it before and after fine-tuning; `loralab` will too.
//
//   for each example: generated = greedy continuation of prompt, until '\n' or max_answer_tokens
//                     correct  += data::task_answer_matches(example, generated)
//   accuracy = correct / total
//
// One prompt at a time (prompts differ in length; no padding, no KV cache): each new token is one
// forward over the whole window, so an answer of A tokens costs A forwards. Not here: the task
// itself (data/task.h), sampling (nn/sample.h), the loss on a held-out set (`loralab eval`).
#pragma once

#include "data/task.h"
#include "nn/causal_lm.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lab::train {

struct TaskAnswer {
  std::string prompt;
  std::string expected;   // the example's answer
  std::string generated;  // what the model wrote, its closing '\n' included when it wrote one
  bool correct = false;
};

struct TaskScore {
  int64_t correct = 0;
  int64_t total = 0;
  double accuracy = 0;              // correct / total (0 for no examples)
  std::vector<TaskAnswer> answers;  // the first `keep_answers` examples, in order, to print
};

// Greedy (temperature 0) answers in eval mode under no_grad; the model's training mode is restored
// afterwards, even when an error is thrown. Needs a byte-level model (vocab_size 256), of either family.
TaskScore evaluate_task(nn::CausalLM& model, const std::vector<data::TaskExample>& examples, int64_t max_answer_tokens = 16,
                        int64_t keep_answers = 4);

}  // namespace lab::train
