// The generated pretraining corpus of lesson 04: short English stories from a small world, made
// deterministically from a seed, so nothing is downloaded and every run sees the same text.
//
//   Mia had a red hat and Tom had a blue cup. Mia's hat was red. Tom gave his blue cup to Mia.
//   Lily has a green kite. Lily's kite is green. The green kite is Lily's. Lily likes her kite.
//
// Objects come back with their colour and owner a sentence or two later, so a model that predicts
// the next byte well has to copy from its context: the skill the downstream task (task.h) needs.
// The text is printable ASCII, one story a line. data/README.md has an excerpt and the reasoning;
// world.h the words. Not here: the task's question format, which the corpus never contains.
#pragma once

#include <cstdint>
#include <string>

namespace lab::data {

// Exactly n_bytes of text, cut at the end; the same (seed, n_bytes) always gives the same text, and a
// shorter text is a prefix of a longer one with the same seed. n_bytes in [0, 1 GiB].
std::string generate_corpus(uint64_t seed, int64_t n_bytes);

}  // namespace lab::data
