// Module: named parameters and named sub-modules, as torch.nn.Module keeps them.
//
//   model.named_parameters()   [("h.0.attn.c_attn.weight", W), ...]  dotted names, registration order, depth first
//   model.state_dict()         the same list, detached: what save() writes to a safetensors file
//
// A module owns its parameters: the Tensor objects live in the module and parameter(name) returns
// a reference. Keep no copies across to(Device), which replaces them (a copy keeps the old storage).
// Not here: forward (each layer has its own; UnaryModule below is the one-tensor-in, one-out kind),
// buffers (non-trainable state), shared sub-modules (a module registered twice is listed twice).
// Next: linear.h, the simplest layer; init.h for how parameters start.
#pragma once

#include "tensor/safetensors.h"
#include "tensor/tensor.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lab::nn {

// What load_state_dict found besides the tensors it loaded (both empty after a strict load).
struct LoadReport {
  std::vector<std::string> missing;     // parameters the tensors did not have (they keep their values)
  std::vector<std::string> unexpected;  // tensors no parameter is named after (ignored)
};

class Module {
public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // --- building: names are local ("weight", "c_attn"), without dots, unique within this module.
  // Stores `value` and marks it a leaf that requires grad; the reference is valid until the next register_parameter.
  Tensor& register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  template <typename M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  // Swaps an existing child for another (how LoRA wraps a Linear in place); returns the old one.
  // Its parameters' autograd names start at this module: call root.name_parameters() for full ones.
  std::shared_ptr<Module> replace_module(const std::string& name, std::shared_ptr<Module> module);

  // --- looking inside. Names may be dotted: parameter("attn.c_attn.weight").
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;  // copies that share each parameter's grad; stale after to(Device)
  std::vector<std::pair<std::string, Module*>> named_modules();  // this module first, named ""
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  bool has_parameter(const std::string& name) const;
  Tensor& parameter(const std::string& name);
  const Tensor& parameter(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;
  template <typename M> M& child_as(const std::string& name) const {
    M* m = dynamic_cast<M*>(child(name).get());
    LAB_CHECK(m != nullptr, "child '{}' is not of the type asked for", name);
    return *m;
  }
  // Sets each parameter's autograd name (used in error messages) to its dotted name under this module.
  void name_parameters(const std::string& prefix = "");

  // --- modes and gradients (recursive)
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  int64_t num_parameters(bool trainable_only = false) const;
  void freeze();    // requires_grad = false on every parameter, and their grads dropped
  void unfreeze();  // requires_grad = true on every parameter
  void zero_grad();
  void to(Device device);  // moves every parameter (and its grad), keeping requires_grad and names

  // --- checkpoints (safetensors), keyed by the dotted names
  NamedTensors state_dict() const;
  // Copies values into the existing parameters (any dtype or device; shapes must match exactly).
  // strict: every parameter present and nothing else, or an error listing what is missing and what
  // is unexpected. A wrong shape is always an error, and nothing is copied unless everything fits.
  LoadReport load_state_dict(const std::map<std::string, Tensor>& tensors, bool strict = true,
                             const std::string& source = "the state dict");
  void save(const std::string& path) const;
  LoadReport load(const std::string& path, bool strict = true);

private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;
  Tensor* find_parameter(const std::string& name) const;

  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module whose forward maps one tensor to one tensor: what Sequential chains and LoRA can replace.
class UnaryModule : public Module {
public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace lab::nn
