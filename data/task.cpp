// The task generator of task.h. Each story has one person's coloured object, said as the corpus says
// it, among one or two sentences about other people (what they ate, saw, or where they are); the
// question asks the colour or the object, whose answer follows the person's name in the story.
#include "data/task.h"

#include "data/world.h"
#include "tensor/error.h"

#include <fmt/format.h>

#include <algorithm>
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

// One sentence about someone else: the words a question about the owner must not answer with.
std::string other_sentence(Generator& gen, std::string_view name) {
  switch (uniform_index(gen, 3)) {
    case 0: {
      const std::string_view food = pick(gen, world::foods);
      return fmt::format("{} ate {} {}.", name, indefinite_article(food), food);
    }
    case 1: {
      const std::string_view animal = pick(gen, world::animals);
      return fmt::format("{} saw {} {}.", name, indefinite_article(animal), animal);
    }
    default: return fmt::format("{} is at the {}.", name, pick(gen, world::places));
  }
}

TaskExample one_example(Generator& gen) {
  const world::Person& owner = pick(gen, world::people);
  const std::string_view colour = pick(gen, world::colours), object = pick(gen, world::objects);
  std::vector<std::string> sentences = {fmt::format("{} has {} {} {}.", owner.name, indefinite_article(colour), colour, object)};
  std::vector<std::string_view> names = {owner.name};
  const int64_t others = 1 + uniform_index(gen, 2);
  while (int64_t(names.size()) < 1 + others) {
    const world::Person& p = pick(gen, world::people);
    if (std::find(names.begin(), names.end(), p.name) != names.end()) continue;  // one sentence a person
    names.push_back(p.name);
    sentences.push_back(other_sentence(gen, p.name));
  }
  std::swap(sentences[0], sentences[size_t(uniform_index(gen, int64_t(sentences.size())))]);  // the fact anywhere in the story
  std::string prompt = "story:";
  for (const std::string& s : sentences) prompt += " " + s;
  if (chance(gen, 1, 2)) return {fmt::format("{}\nq: what colour is {}'s {}?\na:", prompt, owner.name, object), fmt::format(" {}", colour)};
  return {fmt::format("{}\nq: what does {} have?\na:", prompt, owner.name), fmt::format(" {}", object)};
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
