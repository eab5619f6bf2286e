// The downstream task: deterministic, train and test disjoint, short prompts, answers that the
// story determines, and the exact-answer metric.
#include <catch2/catch.hpp>

#include "data/corpus.h"
#include "data/task.h"
#include "tensor/error.h"

#include <map>
#include <set>

using namespace lab::data;

TEST_CASE("task: deterministic in seed, count and split") {
  std::vector<TaskExample> a = make_task(1, 200, TaskSplit::train);
  REQUIRE(a.size() == 200);
  CHECK(task_text(make_task(1, 200, TaskSplit::train)) == task_text(a));
  CHECK(task_text(make_task(2, 200, TaskSplit::train)) != task_text(a));
  std::vector<TaskExample> fewer = make_task(1, 50, TaskSplit::train);  // a prefix of the longer list
  for (size_t i = 0; i < fewer.size(); i++) CHECK(fewer[i].prompt == a[i].prompt);
  CHECK(make_task(1, 0, TaskSplit::test).empty());
  CHECK_THROWS_WITH(make_task(1, -1, TaskSplit::train), Catch::Contains("count is -1"));
}

TEST_CASE("task: no test prompt appears among the train prompts, and none repeats") {
  std::vector<TaskExample> train = make_task(7, 3000, TaskSplit::train);
  std::set<std::string> train_prompts;
  for (const TaskExample& ex : train) train_prompts.insert(ex.prompt);
  CHECK(train_prompts.size() == train.size());
  // The split is a property of the prompt, so other seeds stay apart too; the third seed draws the
  // very stream that train seed 7 draws (task.cpp seeds test with seed ^ 0x9e37...): only the
  // prompt's hash keeps the two apart.
  for (uint64_t seed : std::vector<uint64_t>{7, 8, uint64_t(7) ^ uint64_t(0x9e3779b97f4a7c15ULL)}) {
    std::vector<TaskExample> test = make_task(seed, 1000, TaskSplit::test);
    std::set<std::string> test_prompts;
    for (const TaskExample& ex : test) {
      test_prompts.insert(ex.prompt);
      INFO(ex.prompt);
      CHECK(train_prompts.count(ex.prompt) == 0);
    }
    CHECK(test_prompts.size() == test.size());
  }
}

TEST_CASE("task: short prompts in the task's format, one-word answers the story determines") {
  std::vector<TaskExample> examples = make_task(3, 2000, TaskSplit::train);
  std::map<std::string, int> kinds;
  int shared_object = 0;
  for (const TaskExample& ex : examples) {
    INFO(ex.prompt << ex.answer);
    CHECK(int64_t(ex.prompt.size() + ex.answer.size() + 1) <= kTaskMaxExampleBytes);
    CHECK(ex.prompt.rfind("story: ", 0) == 0);
    CHECK(ex.prompt.size() >= 3);
    CHECK(ex.prompt.substr(ex.prompt.size() - 3) == "\na:");
    // " word": a space then letters only, no newline
    REQUIRE(ex.answer.size() >= 2);
    CHECK(ex.answer[0] == ' ');
    for (size_t i = 1; i < ex.answer.size(); i++) CHECK(((ex.answer[i] >= 'a' && ex.answer[i] <= 'z') || (ex.answer[i] >= 'A' && ex.answer[i] <= 'Z')));
    // the answer word is in the story, and the question names what it is bound to
    std::string word = ex.answer.substr(1);
    std::string story = ex.prompt.substr(0, ex.prompt.find('\n'));
    std::string question = ex.prompt.substr(ex.prompt.find('\n') + 1);
    CHECK(story.find(" " + word) != std::string::npos);
    if (question.rfind("q: what colour is ", 0) == 0) {
      kinds["colour"]++;
      std::string who = question.substr(18, question.find("'s ") - 18);
      std::string object = question.substr(question.find("'s ") + 3, question.find('?') - question.find("'s ") - 3);
      CHECK(story.find(who + " has a" + (word[0] == 'o' ? "n " : " ") + word + " " + object + ".") != std::string::npos);
    } else if (question.rfind("q: who has the ", 0) == 0) {
      kinds["owner"]++;
      std::string colour_object = question.substr(15, question.find('?') - 15);
      bool stated = story.find(word + " has a " + colour_object + ".") != std::string::npos ||
                    story.find(word + " has an " + colour_object + ".") != std::string::npos;
      CHECK(stated);
    } else {
      kinds["object"]++;
      CHECK(question.rfind("q: what does ", 0) == 0);
      std::string who = question.substr(13, question.find(" have?") - 13);
      size_t at = story.find(who + " has ");
      REQUIRE(at != std::string::npos);
      CHECK(story.find(" " + word + ".", at) == story.find('.', at) - word.size() - 1);
    }
    // a story where two people own the same kind of object: only the name or colour tells them apart
    std::string s = story;
    for (const char* obj : {" hat.", " cup.", " ball.", " kite.", " box."}) {
      size_t first = s.find(obj);
      if (first != std::string::npos && s.find(obj, first + 1) != std::string::npos) shared_object++;
    }
  }
  CHECK(kinds["colour"] > 500);
  CHECK(kinds["owner"] > 500);
  CHECK(kinds["object"] > 500);
  CHECK(shared_object > 50);
}

TEST_CASE("task: the text is prompt, answer, newline for each example") {
  std::vector<TaskExample> ex = {{"story: A has a red cup.\nq: what colour is A's cup?\na:", " red"}, {"p2\na:", " x"}};
  CHECK(task_text(ex) == "story: A has a red cup.\nq: what colour is A's cup?\na: red\np2\na: x\n");
  CHECK(task_text({}).empty());
}

TEST_CASE("task: an answer matches exactly, up to the first newline") {
  TaskExample ex{"story: Mia has a red hat.\nq: what colour is Mia's hat?\na:", " red"};
  CHECK(task_answer_matches(ex, " red"));
  CHECK(task_answer_matches(ex, " red\n"));
  CHECK(task_answer_matches(ex, " red\nstory: anything after the newline is ignored"));
  CHECK_FALSE(task_answer_matches(ex, "red"));     // the leading space is part of the answer
  CHECK_FALSE(task_answer_matches(ex, " red hat"));  // more words before the newline
  CHECK_FALSE(task_answer_matches(ex, " Red"));
  CHECK_FALSE(task_answer_matches(ex, " re"));
  CHECK_FALSE(task_answer_matches(ex, ""));
  CHECK_FALSE(task_answer_matches(ex, "\n red"));
  CHECK_FALSE(task_answer_matches(ex, " blue\n"));
}

TEST_CASE("task: the corpus states the task's facts but never asks its questions") {
  std::string corpus = generate_corpus(1, 200000);
  CHECK(corpus.find("q: ") == std::string::npos);
  CHECK(corpus.find("\na:") == std::string::npos);
  // the story sentences of the task are corpus sentences
  CHECK(corpus.find(" has a red hat.") != std::string::npos);
  CHECK(corpus.find("'s hat is ") != std::string::npos);
}
