// The story generator of corpus.h. Two kinds of paragraph, both one line:
//   a story (past tense): an opening, who had what, 3 to 5 events, an ending;
//   a description (present tense): who has what, then facts that repeat a colour, an owner or an object.
// Every event that names an object names its colour or its owner again, so the fact it depends on
// is rarely more than a sentence back: within the 128-byte context of lesson 04's model.
#include "data/corpus.h"

#include "data/world.h"
#include "tensor/error.h"

#include <fmt/format.h>

#include <vector>

namespace lab::data {

namespace {

using world::chance;
using world::pick;
using world::uniform_index;

struct Item {
  std::string_view colour, object;
  int owner;  // index into the cast
};

std::string capitalized(std::string_view word) {
  std::string s(word);
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = char(s[0] - 'a' + 'A');
  return s;
}

std::string_view article(std::string_view noun) { return std::string_view("aeiou").find(noun[0]) != std::string_view::npos ? "an" : "a"; }

// A paragraph under construction: sentences joined by one space, the line ended by '\n'.
class Paragraph {
public:
  Paragraph(Generator& gen, std::string& out) : gen_(gen), out_(out), start_(out.size()) {}

  template <typename... Args> void say(fmt::format_string<Args...> f, Args&&... args) {
    if (!first_) out_ += ' ';
    first_ = false;
    fmt::format_to(std::back_inserter(out_), f, std::forward<Args>(args)...);
  }
  void end() { out_ += '\n'; }

  // Whether the text written since out_[before] already appears earlier in this paragraph.
  bool repeats(size_t before) const {
    std::string_view all(out_);
    std::string_view added = all.substr(before);
    if (!added.empty() && added[0] == ' ') added.remove_prefix(1);
    return all.substr(start_, before - start_).find(added) != std::string_view::npos;
  }

  // 2 or 3 people, all different, each owning one item; no two items share colour and object.
  void cast_people() {
    int n = chance(gen_, 1, 2) ? 2 : 3;
    while (int(cast_.size()) < n) {
      const world::Person& p = pick(gen_, world::people);
      bool seen = false;
      for (const world::Person* q : cast_) seen = seen || q->name == p.name;
      if (!seen) cast_.push_back(&p);
    }
    for (int i = 0; i < n; i++) items_.push_back(new_item(i));
  }

  Item new_item(int owner) {
    for (;;) {
      Item it{pick(gen_, world::colours), pick(gen_, world::objects), owner};
      bool clash = false;
      for (const Item& o : items_) clash = clash || (o.colour == it.colour && o.object == it.object);
      if (!clash) return it;
    }
  }

  const world::Person& person(int i) const { return *cast_[size_t(i)]; }
  std::string_view name(int i) const { return cast_[size_t(i)]->name; }
  int other_than(int i) { return (i + 1 + int(uniform_index(gen_, int64_t(cast_.size()) - 1))) % int(cast_.size()); }
  Item& some_item() { return items_[size_t(uniform_index(gen_, int64_t(items_.size())))]; }

  // --- a story, past tense
  void story() {
    cast_people();
    std::string_view place = pick(gen_, world::places);
    switch (uniform_index(gen_, 4)) {
      case 0: say("One day, {} and {} went to the {}.", name(0), name(1), place); break;
      case 1: say("It was a {} day at the {}.", pick(gen_, world::weathers), place); break;
      case 2: say("Once upon a time, {} lived near the {}.", name(0), place); break;
      default: say("{} and {} were at the {}.", name(0), name(1), place); break;
    }
    for (size_t i = 0; i < items_.size(); i++) {
      const Item& it = items_[i];
      if (i + 1 < items_.size() && chance(gen_, 1, 3)) {
        const Item& next = items_[i + 1];
        say("{} had {} {} {} and {} had {} {} {}.", name(it.owner), article(it.colour), it.colour, it.object, name(next.owner),
            article(next.colour), next.colour, next.object);
        i++;
      } else {
        say("{} had {} {} {}.", name(it.owner), article(it.colour), it.colour, it.object);
      }
    }
    int events = 3 + int(uniform_index(gen_, 3));
    for (int e = 0; e < events; e++) {
      // an event that only repeats what the story already said is drawn again (at most 8 tries)
      for (int attempt = 0; attempt < 8; attempt++) {
        size_t before = out_.size();
        std::vector<Item> items = items_;
        story_event(place);
        if (!repeats(before)) break;
        out_.resize(before);
        items_ = items;
      }
    }
    switch (uniform_index(gen_, 4)) {
      case 0: say("Then they went home."); break;
      case 1: say("At night, {} went to sleep.", name(int(uniform_index(gen_, int64_t(cast_.size()))))); break;
      case 2: say("It was a good day."); break;
      default: say("The end."); break;
    }
    end();
  }

  void story_event(std::string_view place) {
    Item& it = some_item();
    const world::Person& owner = person(it.owner);
    int other = other_than(it.owner);
    switch (uniform_index(gen_, 11)) {
      case 0: say("{}'s {} was {}.", owner.name, it.object, it.colour); break;
      case 1: say("The {} {} was {}.", it.colour, it.object, pick(gen_, world::sizes)); break;
      case 2: say("{} liked {} {} {} very much.", owner.name, owner.his, it.colour, it.object); break;
      case 3: say("{} played with {} {} at the {}.", owner.name, owner.his, it.object, pick(gen_, world::places)); break;
      case 4:  // the item changes hands: later sentences follow its new owner
        say("{} gave {} {} {} to {}.", owner.name, owner.his, it.colour, it.object, name(other));
        say("{} said, \"Thank you, {}!\"", name(other), owner.name);
        it.owner = other;
        break;
      case 5:
        say("{} could not find {} {}.", owner.name, owner.his, it.object);
        say("{} found the {} {} under {}.", name(other), it.colour, it.object, pick(gen_, world::hiding_spots));
        say("{} was {} again.", owner.name, chance(gen_, 1, 2) ? "happy" : "glad");
        break;
      case 6: {
        std::string_view animal = pick(gen_, world::animals);
        say("{} saw {} {} near the {}.", owner.name, article(animal), animal, place);
        if (chance(gen_, 1, 2)) say("The {} was {}.", animal, pick(gen_, world::animal_traits));
        say("The {} {}.", animal, pick(gen_, world::animal_acts));
        break;
      }
      case 7: {
        std::string_view food = pick(gen_, world::foods);
        say("{} ate {} {}. It was {}.", owner.name, article(food), food, pick(gen_, world::food_traits));
        break;
      }
      case 8: say("{} felt {}.", capitalized(owner.he), pick(gen_, world::feelings)); break;
      case 9: say("\"Can I play with your {}?\" asked {}. \"Yes,\" said {}.", it.object, name(other), owner.name); break;
      default: say("The {} {} was {}'s.", it.colour, it.object, owner.name); break;
    }
  }

  // --- a description, present tense: the facts of the task, stated and restated
  void description() {
    cast_people();
    for (const Item& it : items_) say("{} has {} {} {}.", name(it.owner), article(it.colour), it.colour, it.object);
    int facts = 3 + int(uniform_index(gen_, 3));
    for (int f = 0; f < facts; f++) {
      for (int attempt = 0; attempt < 8; attempt++) {  // a fact said already is drawn again
        size_t before = out_.size();
        description_fact();
        if (!repeats(before)) break;
        out_.resize(before);
      }
    }
    end();
  }

  void description_fact() {
    const Item& it = some_item();
    const world::Person& owner = person(it.owner);
    switch (uniform_index(gen_, 8)) {
      case 0: case 1: case 2: say("{}'s {} is {}.", owner.name, it.object, it.colour); break;
      case 3: case 4: say("The {} {} is {}'s.", it.colour, it.object, owner.name); break;
      case 5: say("{} likes {} {}.", owner.name, owner.his, it.object); break;
      case 6: say("The {} {} is {}.", it.colour, it.object, pick(gen_, world::sizes)); break;
      default: say("{} keeps {} {} at the {}.", owner.name, owner.his, it.object, pick(gen_, world::places)); break;
    }
  }

private:
  Generator& gen_;
  std::string& out_;
  size_t start_;  // where this paragraph begins in out_
  bool first_ = true;
  std::vector<const world::Person*> cast_;
  std::vector<Item> items_;
};

constexpr int64_t kMaxCorpusBytes = int64_t(1) << 30;

}  // namespace

std::string generate_corpus(uint64_t seed, int64_t n_bytes) {
  LAB_CHECK(n_bytes >= 0 && n_bytes <= kMaxCorpusBytes, "generate_corpus: n_bytes is {}, expected 0 to {} (1 GiB) (HINT: lesson 04 needs about 1-2 MB)",
            n_bytes, kMaxCorpusBytes);
  Generator gen(seed);
  std::string out;
  out.reserve(size_t(n_bytes) + 1024);
  while (int64_t(out.size()) < n_bytes) {
    Paragraph p(gen, out);
    // 1 story for every description
    if (uniform_index(gen, 2) < 1) p.story();
    else p.description();
  }
  out.resize(size_t(n_bytes));
  return out;
}

}  // namespace lab::data
