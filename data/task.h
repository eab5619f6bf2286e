// The downstream task of lessons 05 (LoRA) and 06 (QLoRA): a story of two or three sentences, one of
// them a person's coloured object, then one question about that object, answered with one word.
//
//   story: Sam ate an apple. Mia has a red hat. Tom is at the park.
//   q: what colour is Mia's hat?
//   a: red
//
// Two questions: the colour of X's object, what X has. The corpus (corpus.h) states such facts in the
// same words but never in this format, so the pretrained base knows the words and how to copy from its
// context, yet not that it should answer after "a:" and stop at '\n'. data/README.md says why the task
// asks no more than that, and why fine-tuning from the base beats training from scratch.
// Not here: the training loop or generation (train/, lessons/05_lora).
#pragma once

#include "tensor/random.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lab::data {

// The model reads prompt (ending in "a:") and must write answer (" red") followed by '\n'.
struct TaskExample {
  std::string prompt;
  std::string answer;
};

enum class TaskSplit { train, test };

// prompt + answer + '\n' is at most this many bytes: a whole example fits a 128-byte context.
constexpr int64_t kTaskMaxExampleBytes = 112;

// `count` examples, deterministic in (seed, count, split), no two alike. Train and test never share a
// prompt, whatever the seeds: an example belongs to the split that a hash of its prompt picks.
std::vector<TaskExample> make_task(uint64_t seed, int64_t count, TaskSplit split);
// What every task generator shares (make_task here, make_count_task in task2.h): draws from `one`
// until `count` distinct examples of `split` that fit kTaskMaxExampleBytes; the split of an example is
// one bit of a hash of its prompt, so train and test never share a prompt, whatever the seeds.
std::vector<TaskExample> draw_task_split(Generator& gen, int64_t count, TaskSplit split, const std::function<TaskExample(Generator&)>& one);
// "a" or "an" before a word of the little world.
std::string_view indefinite_article(std::string_view word);
// prompt + answer + "\n" for each example, one after the other: the text fine-tuning trains on.
std::string task_text(const std::vector<TaskExample>& examples);
// The exact-answer metric: `generated` up to its first '\n' (or all of it) equals the answer.
bool task_answer_matches(const TaskExample& example, const std::string& generated);

}  // namespace lab::data
