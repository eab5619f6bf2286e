// Module's bookkeeping: registration, dotted names, modes, freezing, devices, state dicts.
//
// Dotted names are composed on the way down (prefix + "." + local name), never stored, so a module
// can be built bottom-up and registered anywhere; only the autograd name each parameter carries for
// messages is written whole, by register_module. Loading checks every name and shape first and
// copies afterwards, so a bad checkpoint leaves the model as it was.
#include "nn/module.h"

#include "autograd/autograd.h"

#include <set>

namespace lab::nn {

static std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : name.empty() ? prefix : prefix + "." + name;
}

static std::string count_of(size_t n, const char* what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); }

void Module::check_new_name(const std::string& name) const {
  LAB_CHECK(!name.empty() && name.find('.') == std::string::npos,
            "'{}' is not a valid parameter or module name: it must be non-empty and have no '.' (dots join the names of nested modules)",
            name);
  for (const auto& [n, t] : params_) LAB_CHECK(n != name, "this module already has a parameter named '{}'", name);
  for (const auto& [n, m] : children_) LAB_CHECK(n != name, "this module already has a sub-module named '{}'", name);
}

Tensor& Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name(name);
  LAB_CHECK(value.defined(), "register_parameter('{}'): undefined tensor", name);
  ag::set_requires_grad(value, requires_grad, name);
  params_.emplace_back(name, std::move(value));
  return params_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  LAB_CHECK(module != nullptr, "register_module('{}'): null module", name);
  module->name_parameters(name);
  children_.emplace_back(name, std::move(module));
}

std::shared_ptr<Module> Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
  LAB_CHECK(module != nullptr, "replace_module('{}'): null module", name);
  for (auto& [n, m] : children_) {
    if (n != name) continue;
    module->name_parameters(name);
    std::swap(m, module);
    return module;
  }
  LAB_FAIL("replace_module: no sub-module named '{}'", name);
}

void Module::name_parameters(const std::string& prefix) {
  for (auto& [name, t] : named_parameters()) ag::set_requires_grad(t, ag::requires_grad(t), join(prefix, name));
}

NamedTensors Module::named_parameters() const {
  NamedTensors out(params_.begin(), params_.end());
  for (const auto& [cname, child] : children_)
    for (auto& [name, t] : child->named_parameters()) out.emplace_back(join(cname, name), std::move(t));
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(std::move(t));
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [cname, child] : children_)
    for (const auto& [name, m] : child->named_modules()) out.emplace_back(join(cname, name), m);
  return out;
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  const Module* at = this;
  std::shared_ptr<Module> found;
  for (size_t begin = 0; begin <= name.size();) {
    const size_t end = std::min(name.find('.', begin), name.size());
    const std::string part = name.substr(begin, end - begin);
    found = nullptr;
    for (const auto& [n, m] : at->children_)
      if (n == part) found = m;
    LAB_CHECK(found != nullptr, "no sub-module named '{}'", name);
    at = found.get();
    begin = end + 1;
  }
  return found;
}

Tensor* Module::find_parameter(const std::string& name) const {
  const size_t dot = name.rfind('.');
  if (dot != std::string::npos) {
    for (const auto& [n, m] : children_)
      if (name.compare(0, n.size(), n) == 0 && name.size() > n.size() && name[n.size()] == '.') {
        if (Tensor* t = m->find_parameter(name.substr(n.size() + 1))) return t;
      }
    return nullptr;
  }
  for (const auto& [n, t] : params_)
    if (n == name) return const_cast<Tensor*>(&t);
  return nullptr;
}

bool Module::has_parameter(const std::string& name) const { return find_parameter(name) != nullptr; }

Tensor& Module::parameter(const std::string& name) {
  if (Tensor* t = find_parameter(name)) return *t;
  std::vector<std::string> names;
  for (const auto& [n, t] : named_parameters()) names.push_back(n);
  LAB_FAIL("no parameter named '{}' (this module has: {})", name, name_list(names));
}

const Tensor& Module::parameter(const std::string& name) const { return const_cast<Module*>(this)->parameter(name); }

void Module::train(bool on) {
  for (auto& [name, m] : named_modules()) m->training_ = on;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters())
    if (!trainable_only || ag::requires_grad(t)) n += t.numel();
  return n;
}

void Module::freeze() {
  for (const auto& [name, t] : named_parameters()) {
    ag::set_requires_grad(t, false);
    ag::zero_grad(t);
  }
}

void Module::unfreeze() {
  for (const auto& [name, t] : named_parameters()) ag::set_requires_grad(t, true);
}

void Module::zero_grad() {
  for (const auto& [name, t] : named_parameters()) ag::zero_grad(t);
}

void Module::to(Device device) {
  for (auto& [mname, m] : named_modules())
    for (auto& [name, t] : m->params_) {
      if (t.device() == device) continue;
      // A new Tensor object on `device`; autograd metadata is per object, so mark it again.
      Tensor moved = ag::detach(t).to(device);
      ag::set_requires_grad(moved, ag::requires_grad(t), t.autograd_meta()->name);
      if (Tensor g = ag::grad(t); g.defined()) ag::set_grad(moved, g.to(device));
      t = moved;
    }
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& [name, t] : out) t = ag::detach(t);
  return out;
}

LoadReport Module::load_state_dict(const std::map<std::string, Tensor>& tensors, bool strict, const std::string& source) {
  LoadReport report;
  std::vector<std::string> wrong_shapes;
  std::set<std::string> known;
  const NamedTensors params = named_parameters();
  for (const auto& [name, t] : params) {
    known.insert(name);
    auto it = tensors.find(name);
    if (it == tensors.end()) report.missing.push_back(name);
    else if (it->second.shape() != t.shape())
      wrong_shapes.push_back(
          fmt::format("expected {} of shape {}, found {}", name, shape_str(t.shape()), shape_str(it->second.shape())));
  }
  for (const auto& [name, t] : tensors)
    if (!known.count(name)) report.unexpected.push_back(name);

  LAB_CHECK(wrong_shapes.empty(),
            "load_state_dict from {}: {} of the wrong shape: {} (HINT: a checkpoint of a model of another size; or, if only "
            "transposed, a weight stored [in, out] as GPT-2's Conv1D stores it, where Linear holds [out, in])",
            source, count_of(wrong_shapes.size(), "tensor"), name_list(wrong_shapes, 10, "; "));
  if (strict && (!report.missing.empty() || !report.unexpected.empty())) {
    std::vector<std::string> parts;
    if (!report.missing.empty()) parts.push_back(count_of(report.missing.size(), "missing key") + ": " + name_list(report.missing));
    if (!report.unexpected.empty())
      parts.push_back(count_of(report.unexpected.size(), "unexpected key") + ": " + name_list(report.unexpected));
    LAB_FAIL("load_state_dict from {}: {} (HINT: the names differ between the checkpoint and the model; strict = false loads the "
             "names they share)",
             source, name_list(parts, 10, "; "));
  }
  for (const auto& [name, t] : params)
    if (auto it = tensors.find(name); it != tensors.end()) t.copy_(it->second);
  return report;
}

void Module::save(const std::string& path) const { save_safetensors(path, state_dict()); }

LoadReport Module::load(const std::string& path, bool strict) {
  return load_state_dict(SafetensorsFile::open(path).load_all(), strict, path);
}

}  // namespace lab::nn
