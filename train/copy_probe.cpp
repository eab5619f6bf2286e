// copy_probe (copy_probe.h): "X has a C O. ... X's O is" -> " C.", greedy, on generated facts.
#include "train/copy_probe.h"

#include "data/task.h"
#include "data/world.h"
#include "nn/sample.h"
#include "tensor/error.h"

#include <fmt/format.h>

#include <vector>

namespace lab::train {

namespace {

struct Fact {
  std::string_view name, colour, object;
};

// `facts` facts with different names and different colours (objects may repeat, as in the task).
std::vector<Fact> draw_facts(Generator& gen, int64_t facts) {
  namespace world = data::world;
  std::vector<Fact> out;
  while (int64_t(out.size()) < facts) {
    Fact f{world::pick(gen, world::people).name, world::pick(gen, world::colours), world::pick(gen, world::objects)};
    bool clash = false;
    for (const Fact& o : out) clash = clash || o.name == f.name || o.colour == f.colour;
    if (!clash) out.push_back(f);
  }
  return out;
}

}  // namespace

CopyProbeResult copy_probe(nn::CausalLM& model, int64_t facts, int64_t count, uint64_t seed) {
  LAB_CHECK(facts >= 1 && facts <= 3, "copy_probe: facts is {}, expected 1 to 3", facts);
  LAB_CHECK(count >= 1, "copy_probe: count is {}, expected at least 1", count);
  LAB_CHECK(model.vocab_size() == 256, "copy_probe: the model's vocabulary is {} tokens; the probe writes bytes (a byte-level model, vocab 256)",
            model.vocab_size());
  CopyProbeResult r;
  r.facts = facts;
  Generator gen(seed);
  nn::SampleOptions greedy;
  greedy.temperature = 0;
  for (int64_t i = 0; i < count; i++) {
    std::vector<Fact> fs = draw_facts(gen, facts);
    std::string prompt;
    for (const Fact& f : fs) prompt += fmt::format("{}{} has {} {} {}.", prompt.empty() ? "" : " ", f.name, data::indefinite_article(f.colour), f.colour, f.object);
    const Fact& asked = fs[size_t(data::world::uniform_index(gen, facts))];
    prompt += fmt::format(" {}'s {} is", asked.name, asked.object);
    LAB_CHECK(int64_t(prompt.size()) + 8 <= model.context_length(), "copy_probe: a prompt of {} bytes does not fit the model's context of {}",
              prompt.size(), model.context_length());
    std::vector<int64_t> ids(prompt.begin(), prompt.end());
    for (int64_t& id : ids) id &= 0xff;  // bytes, not signed chars
    std::vector<int64_t> out = nn::generate(model, ids, 8, greedy, [](int64_t token) { return token == '.'; });
    std::string generated;
    for (int64_t t : out) generated += char(t);
    const bool correct = generated == fmt::format(" {}.", asked.colour);
    r.correct += correct;
    r.total++;
    if (i == 0) r.example_prompt = prompt, r.example_generated = generated;
  }
  r.accuracy = double(r.correct) / double(r.total);
  return r;
}

}  // namespace lab::train
