// The counting task of task2.h: one to three "X has a C O." facts (distinct names), then "how many
// people?"; the answer is the number of facts as a word.
#include "data/task2.h"

#include "data/world.h"
#include "tensor/error.h"

#include <fmt/format.h>

#include <array>
#include <string_view>
#include <unordered_set>

namespace lab::data {

namespace {

constexpr int64_t kMaxCountTaskCount = 10'000;
constexpr std::array<std::string_view, 3> kNumbers{"one", "two", "three"};

std::string_view article(std::string_view word) { return std::string_view("aeiou").find(word[0]) != std::string_view::npos ? "an" : "a"; }

// FNV-1a over the bytes, then splitmix64's finalizer (as task.cpp): the split bit depends on every byte.
uint64_t hash_text(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ uint64_t(static_cast<unsigned char>(c))) * 0x100000001b3ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

TaskExample one_count_example(Generator& gen) {
  const int64_t n = 1 + world::uniform_index(gen, 3);  // 1, 2 or 3 people, equally often
  std::vector<std::string_view> names;
  std::string prompt = "story:";
  while (int64_t(names.size()) < n) {
    const world::Person& p = world::pick(gen, world::people);
    const std::string_view colour = world::pick(gen, world::colours), object = world::pick(gen, world::objects);
    bool repeated = false;  // distinct names: "how many people" has one answer
    for (std::string_view name : names) repeated = repeated || name == p.name;
    if (repeated) continue;
    names.push_back(p.name);
    prompt += fmt::format(" {} has {} {} {}.", p.name, article(colour), colour, object);
  }
  return {prompt + "\nq: how many people?\na:", fmt::format(" {}", kNumbers[size_t(n - 1)])};
}

}  // namespace

std::vector<TaskExample> make_count_task(uint64_t seed, int64_t count, TaskSplit split) {
  LAB_CHECK(count >= 1 && count <= kMaxCountTaskCount, "make_count_task: count is {}, expected 1 to {}", count, kMaxCountTaskCount);
  const uint64_t want = split == TaskSplit::train ? 0 : 1;
  Generator gen(seed ^ 0xc0c0c0c0ULL ^ (want ? 0x9e3779b97f4a7c15ULL : 0));  // its own streams, apart from make_task's
  std::vector<TaskExample> out;
  std::unordered_set<std::string> seen;
  while (int64_t(out.size()) < count) {
    TaskExample ex = one_count_example(gen);
    if (int64_t(ex.prompt.size() + ex.answer.size() + 1) > kTaskMaxExampleBytes) continue;
    if ((hash_text(ex.prompt) & 1) != want) continue;
    if (!seen.insert(ex.prompt).second) continue;
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace lab::data
