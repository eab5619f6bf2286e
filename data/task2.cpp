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
    prompt += fmt::format(" {} has {} {} {}.", p.name, indefinite_article(colour), colour, object);
  }
  return {prompt + "\nq: how many people?\na:", fmt::format(" {}", kNumbers[size_t(n - 1)])};
}

}  // namespace

std::vector<TaskExample> make_count_task(uint64_t seed, int64_t count, TaskSplit split) {
  LAB_CHECK(count >= 1 && count <= kMaxCountTaskCount, "make_count_task: count is {}, expected 1 to {}", count, kMaxCountTaskCount);
  // its own streams, apart from make_task's
  Generator gen(seed ^ 0xc0c0c0c0ULL ^ (split == TaskSplit::test ? 0x9e3779b97f4a7c15ULL : 0));
  return draw_task_split(gen, count, split, one_count_example);
}

}  // namespace lab::data
