// The second downstream task of lesson 05, for swapping adapters on one base: count the people of a
// story. The stories are the task's own (task.h: "X has a C O." sentences), one to three of them.
//
//   story: Tom has a blue cup. Mia has a red hat.
//   q: how many people?
//   a: two
//
// Its answers (one, two, three) are never an answer of task.h, and task.h's answers (a colour, a
// name, an object) never one of its own, so an adapter trained on one task scores zero on the other:
// what the 2x2 table of lesson 05 shows. Not here: the first task and its metric (task.h, whose
// TaskExample and task_answer_matches this reuses).
#pragma once

#include "data/task.h"

#include <cstdint>
#include <vector>

namespace lab::data {

// `count` examples, deterministic in (seed, count, split), no two alike; train and test never share a
// prompt (one bit of a hash of the prompt picks its split, as make_task does). Each example is at
// most kTaskMaxExampleBytes bytes. Fewer than 1 or more than 10,000 examples: a lab::Error.
std::vector<TaskExample> make_count_task(uint64_t seed, int64_t count, TaskSplit split);

}  // namespace lab::data
