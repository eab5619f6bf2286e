// What every optimizer shares: which parameters step() updates, the lazily created per-parameter
// state, and its state_dict / safetensors form with the strict checks that make resuming safe.
// The update rules are in sgd.cpp and adamw.cpp.
#include "optim/optimizer.h"

#include "autograd/autograd.h"
#include "tensor/factory.h"
#include "tensor/finite.h"

#include <cmath>
#include <set>

namespace lab {

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)), state_(params_.size()) {
  LAB_CHECK(!params_.empty(), "optimizer got an empty parameter list (HINT: pass module.parameters())");
  std::set<const void*> seen;
  for (size_t i = 0; i < params_.size(); i++) {
    const Tensor& p = params_[i];
    LAB_CHECK(p.defined(), "optimizer: parameter {} is an undefined tensor", i);
    LAB_CHECK(is_floating(p.dtype()), "optimizer: parameter {} ({}) is {}; only floating-point tensors can be trained", i,
              ag::name_of(p), dtype_name(p.dtype()));
    LAB_CHECK(p.numel() == 0 || seen.insert(p.raw_data()).second,
              "optimizer: parameter {} ({}) appears twice in the list (HINT: tied weights are one parameter; list them once)", i,
              ag::name_of(p));
  }
}

void Optimizer::step() {
  for (size_t i = 0; i < params_.size(); i++) {
    if (!has_update(i)) continue;
    if (!all_finite(ag::grad(params_[i]))) {
      NonFinite bad = find_nonfinite(ag::grad(params_[i]));
      LAB_FAIL("step {}: the gradient of '{}' is not finite: {} of {} values (first: {} at [{}]); no parameter was updated "
               "(HINT: lower the learning rate, clip gradients, or check the loss for NaN)",
               steps_ + 1, ag::name_of(params_[i]), bad.count, params_[i].numel(), bad.first_value, fmt::join(bad.first_index, ", "));
    }
  }
  update();
  steps_++;
}

void Optimizer::zero_grad() {
  for (const Tensor& p : params_) ag::zero_grad(p);
}

bool Optimizer::has_update(size_t i) const {
  const Tensor& p = params_[i];
  if (!ag::requires_grad(p)) return false;
  const Tensor g = ag::grad(p);
  if (!g.defined()) return false;
  LAB_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype() && g.device() == p.device(),
            "{}: the grad of parameter {} ({}) is {} {} on {}, the parameter {} {} on {}", name(), i, ag::name_of(p),
            shape_str(g.shape()), dtype_name(g.dtype()), g.device().str(), shape_str(p.shape()), dtype_name(p.dtype()), p.device().str());
  LAB_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64,
            "{}: parameter {} ({}) is {}; the update runs on f32 or f64 (HINT: keep trainable weights in f32)", name(), i,
            ag::name_of(p), dtype_name(p.dtype()));
  LAB_CHECK(p.is_contiguous(), "{}: parameter {} ({}) is not contiguous; the update runs over its storage in one pass", name(), i,
            ag::name_of(p));
  return true;
}

Tensor Optimizer::make_slot(const Slot& slot, size_t i) const {
  if (!slot.per_element) return scalar(0, DType::i64);
  const Tensor& p = params_[i];
  // blocks = ceil(numel / block_size)
  const Shape shape = slot.block_size > 0 ? Shape{(p.numel() + slot.block_size - 1) / slot.block_size} : p.shape();
  return zeros(shape, slot.dtype.value_or(p.dtype()), p.device());
}

std::map<std::string, Tensor>& Optimizer::state_for(size_t i) {
  std::map<std::string, Tensor>& s = state_[i];
  if (s.empty())
    for (const Slot& slot : slots_for(i)) s[slot.name] = make_slot(slot, i);
  return s;
}

size_t Optimizer::state_bytes() const {
  size_t total = 0;
  for (const auto& s : state_)
    for (const auto& [name, t] : s) total += t.nbytes();
  return total;
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out = {{"step", scalar(double(steps_), DType::i64)}};
  for (size_t i = 0; i < state_.size(); i++)
    for (const auto& [slot, t] : state_[i]) out.emplace_back(fmt::format("state.{}.{}", i, slot), t);
  return out;
}

int64_t count_value(const Tensor& t) {
  LAB_CHECK(t.numel() == 1, "a step count must have one element, found shape {}", shape_str(t.shape()));
  if (t.dtype() == DType::i64) return t.item<int64_t>();
  const double v = t.item<double>();
  LAB_CHECK(v >= 0 && v == std::floor(v) && v < 9e18, "a step count must be a whole number >= 0, found {}", v);
  return int64_t(v);
}

// "state.<i>.<name>" -> (i, name); false for anything else.
static bool parse_state_key(const std::string& key, size_t* index, std::string* slot) {
  if (key.rfind("state.", 0) != 0) return false;
  const size_t dot = key.find('.', 6);
  if (dot == std::string::npos || dot == 6 || dot - 6 > 9) return false;
  for (size_t k = 6; k < dot; k++)
    if (key[k] < '0' || key[k] > '9') return false;
  *index = std::stoul(key.substr(6, dot - 6));
  *slot = key.substr(dot + 1);
  return true;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& tensors, const std::string& source) {
  std::vector<std::string> missing, unexpected, wrong;
  // Is `t` a valid value for `slot` of parameter i? Appends to `wrong` if not.
  auto check = [&](const std::string& key, const Tensor& t, const Slot& slot, size_t i) {
    if (slot.per_element) {
      const Tensor& param = params_[i];
      const Shape shape = slot.block_size > 0 ? Shape{(param.numel() + slot.block_size - 1) / slot.block_size} : param.shape();
      const DType dtype = slot.dtype.value_or(param.dtype());
      const std::string whose = slot.block_size > 0 ? fmt::format("one per block of {} of the parameter's {} elements",
                                                                  slot.block_size, param.numel())
                                                    : "the parameter's";
      if (t.shape() != shape || t.dtype() != dtype)
        wrong.push_back(fmt::format("{}: expected {} {} ({}), found {} {}", key, shape_str(shape), dtype_name(dtype), whose,
                                    shape_str(t.shape()), dtype_name(t.dtype())));
    } else {
      try {
        count_value(t);
      } catch (const Error&) {
        wrong.push_back(fmt::format("{}: expected a step count (one whole number >= 0), found {} {}", key, shape_str(t.shape()),
                                    dtype_name(t.dtype())));
      }
    }
  };

  std::set<size_t> with_state;
  for (const auto& [key, t] : tensors) {
    size_t i = 0;
    std::string slot;
    if (key == "step") continue;
    if (!parse_state_key(key, &i, &slot) || i >= params_.size()) {
      unexpected.push_back(key);
      continue;
    }
    bool known = false;
    for (const Slot& s : slots_for(i)) known = known || s.name == slot;
    if (known)
      with_state.insert(i);
    else
      unexpected.push_back(key);
  }
  const auto step = tensors.find("step");
  if (step == tensors.end())
    missing.push_back("step");
  else
    check("step", step->second, Slot{"step", false}, 0);
  for (size_t i : with_state) {
    for (const Slot& slot : slots_for(i)) {
      const std::string key = fmt::format("state.{}.{}", i, slot.name);
      const auto it = tensors.find(key);
      if (it == tensors.end())
        missing.push_back(key);
      else
        check(key, it->second, slot, i);
    }
  }
  if (!missing.empty() || !unexpected.empty() || !wrong.empty()) {
    std::string msg = fmt::format("{}: cannot load this {} state ({} parameters)", source, name(), params_.size());
    if (!missing.empty()) msg += fmt::format("; missing keys: {}", fmt::join(missing, ", "));
    if (!unexpected.empty()) msg += fmt::format("; unexpected keys: {}", fmt::join(unexpected, ", "));
    if (!wrong.empty()) msg += fmt::format("; {}", fmt::join(wrong, "; "));
    LAB_FAIL("{} (HINT: load the state into an optimizer made with the same parameters, in the same order)", msg);
  }

  // Everything checked: now replace the state, copying each tensor onto its parameter's device.
  std::vector<std::map<std::string, Tensor>> state(params_.size());
  for (size_t i : with_state) {
    for (const Slot& slot : slots_for(i)) {
      const Tensor& t = tensors.at(fmt::format("state.{}.{}", i, slot.name));
      if (slot.per_element) {
        Tensor copy = make_slot(slot, i);
        copy.copy_(t);
        state[i][slot.name] = copy;
      } else {
        state[i][slot.name] = scalar(double(count_value(t)), DType::i64);
      }
    }
  }
  state_ = std::move(state);
  steps_ = count_value(step->second);
}

void Optimizer::save(const std::string& path) const {
  std::map<std::string, std::string> metadata = hyperparameters();
  metadata["optimizer"] = name();
  save_safetensors(path, state_dict(), metadata);
}

void Optimizer::load(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto kind = file.metadata().find("optimizer");
  LAB_CHECK(kind == file.metadata().end() || kind->second == name(),
            "{}: holds the state of {}, and this optimizer is {} (HINT: make the optimizer the run was saved with)", path, kind->second,
            name());
  load_state_dict(file.load_all(), path);
}

}  // namespace lab
