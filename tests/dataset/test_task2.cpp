// The counting task (data/task2.h): deterministic, answers that match the story, splits that never
// share a prompt, every example within the 128-byte context, and answers apart from task.h's.
#include <catch2/catch.hpp>

#include "data/task2.h"
#include "tensor/error.h"

#include <set>
#include <string>

using namespace lab;

namespace {

int64_t count_of(const std::string& s, const std::string& what) {
  int64_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

}  // namespace

TEST_CASE("make_count_task: the answer is the number of people in the story") {
  const auto examples = data::make_count_task(1, 600, data::TaskSplit::train);
  REQUIRE(examples.size() == 600);
  const char* words[] = {"", " one", " two", " three"};
  std::set<std::string> answers, prompts;
  for (const auto& e : examples) {
    INFO(e.prompt);
    REQUIRE(e.prompt.rfind("story: ", 0) == 0);
    const std::string question = "\nq: how many people?\na:";
    REQUIRE(e.prompt.size() > question.size());
    CHECK(e.prompt.substr(e.prompt.size() - question.size()) == question);
    const int64_t people = count_of(e.prompt, " has ");
    REQUIRE(people >= 1);
    REQUIRE(people <= 3);
    CHECK(e.answer == words[people]);
    CHECK(int64_t(e.prompt.size() + e.answer.size() + 1) <= data::kTaskMaxExampleBytes);
    answers.insert(e.answer);
    prompts.insert(e.prompt);
  }
  CHECK(answers.size() == 3);         // all three counts occur
  CHECK(prompts.size() == examples.size());  // no two alike
}

TEST_CASE("make_count_task: the same seed gives the same examples, and train and test never share a prompt") {
  const auto a = data::make_count_task(7, 200, data::TaskSplit::train), b = data::make_count_task(7, 200, data::TaskSplit::train);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); i++) CHECK((a[i].prompt == b[i].prompt && a[i].answer == b[i].answer));
  const auto other = data::make_count_task(8, 200, data::TaskSplit::train);
  CHECK(other[0].prompt != a[0].prompt);
  std::set<std::string> train;
  for (const auto& e : data::make_count_task(1, 2000, data::TaskSplit::train)) train.insert(e.prompt);
  for (uint64_t seed : {1, 2}) {
    for (const auto& e : data::make_count_task(seed, 1000, data::TaskSplit::test)) CHECK(train.count(e.prompt) == 0);
  }
}

TEST_CASE("make_count_task: its answers are never an answer of make_task, and a bad count is an error") {
  std::set<std::string> task_answers;
  for (const auto& e : data::make_task(1, 2000, data::TaskSplit::train)) task_answers.insert(e.answer);
  for (const char* w : {" one", " two", " three"}) CHECK(task_answers.count(w) == 0);
  CHECK_THROWS_AS(data::make_count_task(1, 0, data::TaskSplit::train), Error);
  CHECK_THROWS_WITH(data::make_count_task(1, 100000, data::TaskSplit::test), Catch::Contains("count is 100000"));
}
