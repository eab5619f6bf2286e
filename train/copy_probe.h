// Does a pretrained base copy a fact from its context? The skill lesson 05's task needs (data/task.h),
// measured on the corpus's own present-tense sentences, before any fine-tuning:
//
//   facts = 1:  "Jake has a grey kite. Jake's kite is"                      -> " grey."
//   facts = 2:  "Jake has a grey kite. Mia has a red hat. Jake's kite is"   -> " grey."
//
// Greedy decoding up to the first '.', compared exactly. One fact asks for copying alone (the only
// colour in the context); two ask for binding, the colour of that name's object, with a second colour
// there to copy by mistake. Chance: a blind guess among the 11 colours is right 1 time in 11; copying
// either colour of a two-fact context, 1 time in 2. Lesson 04 prints both for the base it trains.
// Not here: the task's own accuracy (task_eval.h), sampling (nn/sample.h).
#pragma once

#include "nn/causal_lm.h"

#include <cstdint>
#include <string>

namespace lab::train {

struct CopyProbeResult {
  int64_t facts = 0;               // sentences of context before the question
  int64_t correct = 0, total = 0;
  double accuracy = 0;
  std::string example_prompt;      // the first prompt, and what the model wrote after it
  std::string example_generated;
};

// `count` prompts of `facts` facts (1 to 3: different names, different colours), deterministic in seed.
// Runs in eval mode without gradients; the model's mode is restored. A byte-level model (vocab 256).
CopyProbeResult copy_probe(nn::CausalLM& model, int64_t facts, int64_t count, uint64_t seed = 0);

}  // namespace lab::train
