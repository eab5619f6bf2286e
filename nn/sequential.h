// Sequential: layers applied one after another, named "0", "1", ... as torch.nn.Sequential names them.
//
//   auto mlp = std::make_shared<Sequential>(std::make_shared<Linear>(4, 8, gen), std::make_shared<GELU>());
//   mlp->named_parameters()   // "0.weight", "0.bias"
//
// Each layer is a UnaryModule (one tensor in, one out). Forward looks the children up at call time,
// so a layer swapped with replace_module("1", ...) is the one that runs. Next: mlp.h.
#pragma once

#include "nn/module.h"

#include <memory>
#include <string>

namespace lab::nn {

class Sequential : public UnaryModule {
public:
  Sequential() = default;
  template <typename... M> explicit Sequential(std::shared_ptr<M>... layers) { (push_back(std::move(layers)), ...); }

  void push_back(std::shared_ptr<UnaryModule> layer) { register_module(std::to_string(size()), std::move(layer)); }
  size_t size() const { return named_children().size(); }
  UnaryModule& operator[](size_t i) const { return child_as<UnaryModule>(std::to_string(i)); }
  Tensor forward(const Tensor& x) override;
};

}  // namespace lab::nn
