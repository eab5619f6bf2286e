// inject_lora and the calls that act on every LoRALinear of a model: PEFT's LoraModel
// (inject_adapter, check_target_module_exists, set_adapter, merge_and_unload without the unload,
// print_trainable_parameters).
//
// Matching is on dotted module names, PEFT's two forms: a list (name == t, or ends with "." + t) or
// one regex (a full match). Everything is checked before anything is wrapped, so an error leaves the
// model as it was. Not here: the layer (lora.cpp), adapter files (lora_io.h). Next: lesson 05.
#include "nn/lora.h"

#include "autograd/autograd.h"
#include "nn/linear.h"


namespace lab::nn {

namespace {

std::string targets_str(const LoraConfig& c) {
  if (!c.target_regex.empty()) return fmt::format("regex '{}'", c.target_regex);
  std::vector<std::string> quoted;
  for (const std::string& t : c.target_modules) quoted.push_back("'" + t + "'");
  return fmt::format("[{}]", name_list(quoted, 100));
}

// What a module is, for an error about it: its parameters and sub-modules.
std::string describe(const Module& m) {
  std::vector<std::string> parts;
  for (const auto& [name, t] : m.named_parameters())
    if (name.find('.') == std::string::npos) parts.push_back(name + " " + shape_str(t.shape()));
  for (const auto& [name, child] : m.named_children()) parts.push_back(name + " (a sub-module)");
  return parts.empty() ? "it holds nothing" : "it holds " + name_list(parts, 6);
}

std::vector<LoRALinear*> lora_layers(Module& model, const char* what) {
  std::vector<LoRALinear*> out;
  for (const auto& [name, m] : model.named_modules())
    if (auto* l = dynamic_cast<LoRALinear*>(m)) out.push_back(l);
  LAB_CHECK(!out.empty(), "{}: the model has no LoRA layers (HINT: inject_lora first)", what);
  return out;
}

}  // namespace

std::optional<std::pair<int64_t, int64_t>> in_out_features(const Module& m) {
  if (auto* like = dynamic_cast<const LinearLike*>(&m)) return std::make_pair(like->in_features(), like->out_features());
  return std::nullopt;
}

InjectReport inject_lora(Module& model, const LoraConfig& config, Generator& gen, const std::string& adapter) {
  config.validate("inject_lora");
  const auto targets = config.target_matcher();
  // 1. Decide, checking everything: which modules to wrap, which LoRALinears get one more adapter.
  std::vector<std::string> wrap, extend, linear_names, lora_prefixes;
  std::string not_linear;  // the first match that LoRA cannot wrap
  for (const auto& [name, m] : model.named_modules()) {
    if (name.empty()) continue;
    bool inside = false;  // base_layer, lora_A, lora_B of a LoRALinear are never wrapped themselves
    for (const std::string& p : lora_prefixes) inside = inside || name.compare(0, p.size() + 1, p + ".") == 0;
    if (inside) continue;
    auto* lora = dynamic_cast<LoRALinear*>(m);
    if (lora) lora_prefixes.push_back(name);
    const bool linear_like = lora != nullptr || (in_out_features(*m) && dynamic_cast<UnaryModule*>(m) != nullptr);
    if (linear_like) linear_names.push_back(name);
    if (!targets(name)) continue;
    if (!linear_like) {
      if (not_linear.empty()) not_linear = fmt::format("'{}', which is not a Linear-like layer ({})", name, describe(*m));
      continue;
    }
    if (lora) {
      LAB_CHECK(!lora->has_adapter(adapter), "inject_lora: '{}' already has an adapter named '{}' (it has: {}) (HINT: pick another name)",
                name, adapter, name_list(lora->adapters()));
      extend.push_back(name);
    } else {
      wrap.push_back(name);
    }
  }
  LAB_CHECK(not_linear.empty(),
            "inject_lora: target {} matches {} (HINT: LoRA wraps nn::Linear and quant::Linear4bit; the Linear-like modules here "
            "are: {})",
            targets_str(config), not_linear, name_list(linear_names));
  if (wrap.empty() && extend.empty()) {
    std::vector<std::string> all;
    for (const auto& [name, m] : model.named_modules())
      if (!name.empty()) all.push_back(name);
    LAB_FAIL("inject_lora: target modules {} not found in the model (HINT: a name matches when it equals a target or ends with "
             "'.' + target; the Linear-like modules are: {}; all modules: {})",
             targets_str(config), name_list(linear_names), name_list(all));
  }

  // 2. Wrap: replace each child in its parent, so the parent's forward (which looks children up by name) uses the LoRALinear.
  for (const std::string& name : wrap) {
    const size_t dot = name.rfind('.');
    Module& parent = dot == std::string::npos ? model : *model.child(name.substr(0, dot));
    const std::string local = dot == std::string::npos ? name : name.substr(dot + 1);
    auto base = std::dynamic_pointer_cast<UnaryModule>(parent.child(local));
    const auto [in, out] = *in_out_features(*base);
    parent.replace_module(local, std::make_shared<LoRALinear>(base, in, out, config, gen, adapter));
  }
  for (const std::string& name : extend) model.child_as<LoRALinear>(name).add_adapter(adapter, config, gen);

  // 3. Only the new adapter trains (PEFT's _mark_only_adapters_as_trainable with bias "none").
  model.freeze();
  InjectReport report;
  for (const auto& [name, m] : model.named_modules()) {
    auto* lora = dynamic_cast<LoRALinear*>(m);
    if (lora == nullptr || !lora->has_adapter(adapter)) continue;
    ag::set_requires_grad(lora->lora_A(adapter), true);
    ag::set_requires_grad(lora->lora_B(adapter), true);
    report.wrapped.push_back(name);
  }
  model.name_parameters();
  return report;
}

void set_active_adapter(Module& model, const std::string& adapter) {
  const std::vector<LoRALinear*> layers = lora_layers(model, "set_active_adapter");
  for (LoRALinear* l : layers)  // check all first: a missing adapter leaves every layer as it was
    LAB_CHECK(l->has_adapter(adapter), "set_active_adapter: no LoRA adapter named '{}' (there are: {})", adapter,
              name_list(l->adapters()));
  for (LoRALinear* l : layers) l->set_active_adapter(adapter);
}

void merge_lora(Module& model) {
  const std::vector<LoRALinear*> layers = lora_layers(model, "merge_lora");
  size_t done = 0;
  try {
    for (; done < layers.size(); done++) layers[done]->merge();
  } catch (...) {
    while (done > 0) layers[--done]->unmerge();  // all or nothing
    throw;
  }
}

void unmerge_lora(Module& model) {
  for (LoRALinear* l : lora_layers(model, "unmerge_lora"))
    if (l->merged()) l->unmerge();
}

void seed_lora_dropout(Module& model, uint64_t seed) {
  Generator seeds(seed);
  for (const auto& [name, m] : model.named_modules())
    if (auto* l = dynamic_cast<LoRALinear*>(m)) l->dropout_generator() = Generator(seeds.next_u32());
}

std::string trainable_parameters_line(const Module& model) {
  int64_t held_outside = 0;  // Linear4bit's NF4 weight is no parameter: count it as the in * out it stands for
  for (const auto& [name, m] : const_cast<Module&>(model).named_modules())
    if (auto io = in_out_features(*m); io && !m->has_parameter("weight")) held_outside += io->first * io->second;
  return trainable_parameters_line(model.num_parameters(true), model.num_parameters() + held_outside);
}

// "trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364"  (trainable% = 100 trainable / all)
std::string trainable_parameters_line(int64_t trainable, int64_t all) {
  LAB_CHECK(all > 0 && trainable >= 0 && trainable <= all, "trainable_parameters_line: {} trainable of {} parameters", trainable, all);
  auto with_commas = [](int64_t n) {
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); i++) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return out;
  };
  return fmt::format("trainable params: {} || all params: {} || trainable%: {:.4f}", with_commas(trainable), with_commas(all),
                     100.0 * double(trainable) / double(all));
}

}  // namespace lab::nn
