// Sampling text from a causal LM (GPT-2 or LLaMA, causal_lm.h): one token at a time, each from the
// model's distribution over the next token given the last context_length() tokens.
//
//   p = softmax(logits / temperature) over the top_k largest logits (all when top_k = 0)
//   temperature 0: greedy, the argmax (the lowest id among equal logits); top_k 1 picks the same
//
// Draws come from a Generator seeded with options.seed, so a seed gives the same text everywhere.
// With kv_cache (the default) the prompt is read once and each step runs the model on one token,
// reusing the keys and values of the earlier ones (kv_cache.h); the tokens are the same as without
// it. Past the context the window slides, and positions shift, so each step then re-reads the window
// (as without a cache). Not here: top-p, beam search, the tokenizer (data/). Next: lessons/04_*.
#pragma once

#include "nn/causal_lm.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace lab::nn {

struct SampleOptions {
  double temperature = 1.0;  // 0 = greedy (argmax)
  int64_t top_k = 0;         // 0 = all tokens
  uint64_t seed = 0;
  bool kv_cache = true;      // false: every step runs the whole window (the reference the cache is tested against)
};

// Appends up to max_new_tokens to `prompt` (not empty) and returns only the new tokens. Runs without
// gradients and in eval mode (the model's mode is restored after). Stops early when stop(token) is
// true, that token included.
std::vector<int64_t> generate(CausalLM& model, const std::vector<int64_t>& prompt, int64_t max_new_tokens, const SampleOptions& options,
                              const std::function<bool(int64_t token)>& stop = {});

}  // namespace lab::nn
