// The task generator of task.h. Each story has 2 or 3 people, each with one coloured object; one
// time in three two of them share the object (a blue hat and a red hat) and one in three the colour,
// so a question can only be answered by binding the right name, colour and object together.
#include "data/task.h"

#include "data/world.h"
#include "tensor/error.h"

#include <fmt/format.h>

#include <unordered_set>

namespace lab::data {

namespace {

using world::chance;
using world::pick;
using world::uniform_index;

constexpr int64_t kMaxTaskCount = 1'000'000;

// FNV-1a over the bytes, then splitmix64's finalizer so that every bit depends on every byte.
uint64_t hash_text(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ uint64_t(static_cast<unsigned char>(c))) * 0x100000001b3ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

struct Fact {
  const world::Person* person;
  std::string_view colour, object;
};

TaskExample one_example(Generator& gen) {
  int n = chance(gen, 2, 3) ? 2 : 3;
  std::vector<Fact> facts;
  while (int(facts.size()) < n) {
    Fact f{&pick(gen, world::people), pick(gen, world::colours), pick(gen, world::objects)};
    if (!facts.empty()) {
      int64_t share = uniform_index(gen, 3);  // 0: same object as an earlier fact, 1: same colour, 2: neither forced
      const Fact& earlier = facts[size_t(uniform_index(gen, int64_t(facts.size())))];
      if (share == 0) f.object = earlier.object;
      if (share == 1) f.colour = earlier.colour;
    }
    bool clash = false;  // names distinct and (colour, object) pairs distinct: every question has one answer
    for (const Fact& o : facts) clash = clash || o.person->name == f.person->name || (o.colour == f.colour && o.object == f.object);
    if (!clash) facts.push_back(f);
  }
  std::string prompt = "story:";
  for (const Fact& f : facts) prompt += fmt::format(" {} has {} {} {}.", f.person->name, indefinite_article(f.colour), f.colour, f.object);
  const Fact& asked = facts[size_t(uniform_index(gen, n))];
  TaskExample ex;
  switch (uniform_index(gen, 3)) {
    case 0:
      ex.prompt = fmt::format("{}\nq: what colour is {}'s {}?\na:", prompt, asked.person->name, asked.object);
      ex.answer = fmt::format(" {}", asked.colour);
      break;
    case 1:
      ex.prompt = fmt::format("{}\nq: who has the {} {}?\na:", prompt, asked.colour, asked.object);
      ex.answer = fmt::format(" {}", asked.person->name);
      break;
    default:
      ex.prompt = fmt::format("{}\nq: what does {} have?\na:", prompt, asked.person->name);
      ex.answer = fmt::format(" {}", asked.object);
      break;
  }
  return ex;
}

}  // namespace

std::vector<TaskExample> draw_task_split(Generator& gen, int64_t count, TaskSplit split, const std::function<TaskExample(Generator&)>& one) {
  const uint64_t want = split == TaskSplit::train ? 0 : 1;
  std::vector<TaskExample> out;
  std::unordered_set<std::string> seen;
  while (int64_t(out.size()) < count) {
    TaskExample ex = one(gen);
    if (int64_t(ex.prompt.size() + ex.answer.size() + 1) > kTaskMaxExampleBytes) continue;
    // the split of an example is one bit of its prompt's hash: train and test can never share one
    if ((hash_text(ex.prompt) & 1) != want) continue;
    if (!seen.insert(ex.prompt).second) continue;
    out.push_back(std::move(ex));
  }
  return out;
}

std::string_view indefinite_article(std::string_view word) {
  return std::string_view("aeiou").find(word[0]) != std::string_view::npos ? "an" : "a";
}

std::vector<TaskExample> make_task(uint64_t seed, int64_t count, TaskSplit split) {
  LAB_CHECK(count >= 0 && count <= kMaxTaskCount, "make_task: count is {}, expected 0 to {} (HINT: lessons 05 and 06 use a few hundred to a few thousand)",
            count, kMaxTaskCount);
  // each split its own stream; the hash in draw_task_split is what keeps them apart
  Generator gen(seed ^ (split == TaskSplit::test ? 0x9e3779b97f4a7c15ULL : 0));
  return draw_task_split(gen, count, split, one_example);
}

std::string task_text(const std::vector<TaskExample>& examples) {
  std::string text;
  for (const TaskExample& ex : examples) text += ex.prompt + ex.answer + "\n";
  return text;
}

bool task_answer_matches(const TaskExample& example, const std::string& generated) {
  // up to the first '\n': the model's own end of answer; all of it when it never wrote one
  return std::string_view(generated).substr(0, generated.find('\n')) == example.answer;
}

}  // namespace lab::data
