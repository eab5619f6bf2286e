// Optimizer: what SGD and AdamW share. It holds the parameters (copies of the module's Tensors, so
// they share storage and .grad with it), updates them in place from their gradients, and keeps
// per-parameter state (momentum, Adam moments) that can be saved and loaded to resume training.
//
// As torch.optim: a parameter that is frozen (ag::requires_grad false) or has no grad is skipped by
// step(), and gets no state until its first update. state_dict() names are PyTorch's, by position:
//   "step" (i64 [], step() calls so far), "state.<i>.<name>" (e.g. "state.3.exp_avg")
// Hyper-parameters are the constructor's: save() writes them as metadata for a reader, load() does
// not restore them. Not here: the update rules (sgd.cpp, adamw.cpp), LR schedules (change
// options().lr between steps), gradient clipping, parameter groups.
#pragma once

#include "tensor/safetensors.h"
#include "tensor/tensor.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lab {

class Optimizer {
public:
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string name() const = 0;  // "AdamW"
  // One update of every parameter that has a grad. First every gradient is checked: a NaN or inf
  // anywhere is a lab::Error naming the step, the parameter and the first bad value, and then no
  // parameter and no state has changed (so the last good checkpoint still describes the model).
  void step();
  void zero_grad();                      // drop every parameter's grad (PyTorch's set_to_none=True)
  int64_t steps() const { return steps_; }
  const std::vector<Tensor>& params() const { return params_; }
  // The state tensors of parameter i by name; empty until its first update.
  const std::map<std::string, Tensor>& state(size_t i) const { return state_.at(i); }
  // Bytes of every state tensor held now (counts included), on whatever device each lives; the paged
  // optimizers add their pages, wherever they are (optim/paged_adamw.h).
  virtual size_t state_bytes() const;

  // "step" and every state tensor (on its own device; save() packs them for the file).
  virtual NamedTensors state_dict() const;
  // Replaces the state with a copy of `tensors` (each onto its parameter's device), after checking
  // all of them: a missing or unexpected key, or a wrong shape or dtype, is an error that lists
  // every such key and starts with `source` (the file, for load()). Nothing changes on error.
  virtual void load_state_dict(const std::map<std::string, Tensor>& tensors, const std::string& source = "load_state_dict");
  // A safetensors file: state_dict() plus metadata "optimizer" and the hyper-parameters, as text.
  void save(const std::string& path) const;
  void load(const std::string& path);  // checks the file was written by the same optimizer kind

protected:
  virtual void update() = 0;  // the rule itself (sgd.cpp, adamw.cpp), once the gradients are known finite

  // One named state tensor a parameter gets at its first update. per_element: shaped like the
  // parameter, its dtype, on its device (moments, momentum); else an i64 [] count on the CPU.
  // A per_element slot may name another dtype (8-bit codes: u8), and with block_size > 0 holds one
  // value per block of the flattened parameter instead: 1-D [ceil(numel / block_size)] (absmax).
  struct Slot {
    std::string name;
    bool per_element = true;
    std::optional<DType> dtype = std::nullopt;  // per_element only; unset: the parameter's
    int64_t block_size = 0;                     // per_element only; 0: shaped like the parameter
  };
  virtual std::vector<Slot> slots() const = 0;
  // The slots of parameter i; the same for every parameter unless overridden (AdamW8bit keeps
  // f32 state for small parameters, 8-bit for large ones).
  virtual std::vector<Slot> slots_for(size_t i) const {
    (void)i;
    return slots();
  }
  // What slot of parameter i starts as: zeros of its shape and dtype on the parameter's device, or a count of 0.
  Tensor make_slot(const Slot& slot, size_t i) const;
  virtual std::map<std::string, std::string> hyperparameters() const = 0;

  // Whether step() updates parameter i now: it requires grad and has one. Checks that grad and
  // parameter agree (shape, dtype, device) and that the parameter is contiguous f32/f64.
  bool has_update(size_t i) const;
  // The state of parameter i, created (zeros; counts 0) on first use.
  std::map<std::string, Tensor>& state_for(size_t i);

  std::vector<Tensor> params_;
  std::vector<std::map<std::string, Tensor>> state_;  // one map per parameter
  int64_t steps_ = 0;
};

// The value of a state count ("step"): a one-element tensor of any dtype, read as an integer.
int64_t count_value(const Tensor& t);

}  // namespace lab
