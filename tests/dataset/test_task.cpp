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

// How often `word` stands in `story` as a whole word (after a space, before a space or a full stop).
static int word_count(const std::string& story, const std::string& word) {
  int n = 0;
  for (size_t at = story.find(" " + word); at != std::string::npos; at = story.find(" " + word, at + 1)) {
    const char after = at + 1 + word.size() < story.size() ? story[at + 1 + word.size()] : '.';
    n += after == ' ' || after == '.';
  }
  return n;
}

TEST_CASE("task: short prompts in the task's format, one-word answers the story determines") {
  std::vector<TaskExample> examples = make_task(3, 2000, TaskSplit::train);
  std::map<std::string, int> kinds;
  std::map<size_t, int> sentences, fact_at;  // stories by their number of sentences; where the fact stands
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
    const std::string word = ex.answer.substr(1);
    const std::string story = ex.prompt.substr(0, ex.prompt.find('\n'));
    const std::string question = ex.prompt.substr(ex.prompt.find('\n') + 1);
    // the answer word stands once in the story, in the one "X has a C O." sentence, of the person asked about
    CHECK(word_count(story, word) == 1);
    const size_t has = story.find(" has ");
    REQUIRE(has != std::string::npos);
    CHECK(story.find(" has ", has + 1) == std::string::npos);
    const size_t begin = story.rfind(' ', has - 1) + 1;
    const std::string owner = story.substr(begin, has - begin);
    const std::string fact = story.substr(begin, story.find('.', has) + 1 - begin);  // "Mia has a red hat."
    CHECK(fact.find(" " + word) != std::string::npos);
    if (question.rfind("q: what colour is ", 0) == 0) {
      kinds["colour"]++;
      CHECK(question.substr(18, question.find("'s ") - 18) == owner);
      const std::string object = question.substr(question.find("'s ") + 3, question.find('?') - question.find("'s ") - 3);
      CHECK(fact == owner + " has a" + (std::string("aeiou").find(word[0]) != std::string::npos ? "n " : " ") + word + " " + object + ".");
    } else {
      kinds["object"]++;
      CHECK(question == "q: what does " + owner + " have?\na:");
      CHECK(fact.substr(fact.size() - word.size() - 2) == " " + word + ".");
    }
    // the other sentences name other people, each once
    size_t n = 0, at = 0;
    for (size_t dot = story.find('.'); dot != std::string::npos; dot = story.find('.', dot + 1)) {
      n++;
      if (dot > has && at == 0) at = n;
    }
    sentences[n]++;
    fact_at[at]++;
    CHECK(word_count(story, owner) == 1);
  }
  CHECK(kinds["colour"] > 800);
  CHECK(kinds["object"] > 800);
  CHECK(sentences[2] > 800);  // the fact and one other sentence, or two
  CHECK(sentences[3] > 800);
  CHECK(fact_at[1] > 300);  // the fact first, second or third
  CHECK(fact_at[2] > 300);
  CHECK(fact_at[3] > 100);
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
