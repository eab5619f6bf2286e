// Our MLP against PyTorch's: the same weights and batch give the same loss, the same gradient for
// every parameter, and the same parameters after 5 AdamW steps.
//
// The fixture tests/data/reference/mlp_adamw.safetensors is written by
// tests/reference/make_mlp_fixture.py (PyTorch 1.13 from Debian); this test needs no Python.
// Tolerance: max |ours - torch| <= 1e-5 * max |torch| over each tensor. f32 sums in a different
// order (we accumulate reductions in double, torch in f32 with its own blocking) differ in the last
// bits: the worst ratio measured (2026-11-28, x86-64, torch 1.13) was 2.6e-7, so 1e-5 leaves a 40x
// margin while still catching any real mistake (a wrong formula is off by 1e-2 or more). The test
// prints the worst ratio it saw.
#include <catch2/catch.hpp>

#include "relative_diff.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "optim/adamw.h"
#include "tensor/all.h"
#include "tensor/safetensors.h"

#include <cmath>

using namespace lab;

namespace {

// fc2(layer_norm(gelu(fc1(x)))), named as the PyTorch module is.
class FixtureMLP : public nn::Module {
public:
  explicit FixtureMLP(Generator& gen) {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(6, 16, gen));
    ln = register_module("ln", std::make_shared<nn::LayerNorm>(16));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(16, 5, gen));
  }
  Tensor forward(const Tensor& x) { return fc2->forward(ln->forward(ag::gelu(fc1->forward(x)))); }
  std::shared_ptr<nn::Linear> fc1, fc2;
  std::shared_ptr<nn::LayerNorm> ln;
};

double worst_ratio = 0;

void check_close(const std::string& what, const Tensor& ours, const Tensor& torch) {
  REQUIRE(ours.shape() == torch.shape());
  const auto [diff, scale, ratio] = relative_diff(ours, torch);
  worst_ratio = std::max(worst_ratio, ratio);
  INFO(what << ": max |ours - torch| = " << diff << ", max |torch| = " << scale);
  CHECK(ratio <= 1e-5);
}

}  // namespace

TEST_CASE("a 2-layer MLP with GELU and LayerNorm matches PyTorch: loss, gradients, 5 AdamW steps") {
  SafetensorsFile fixture = SafetensorsFile::open(LAB_TEST_DATA_DIR "/reference/mlp_adamw.safetensors");
  std::map<std::string, Tensor> t = fixture.load_all();
  Generator gen(99);
  FixtureMLP model(gen);
  std::map<std::string, Tensor> weights;
  for (const auto& [name, value] : model.named_parameters()) weights[name] = t.at(name);
  model.load_state_dict(weights);

  const Tensor& x = t.at("input");
  const Tensor& target = t.at("target");
  Tensor loss = ag::cross_entropy(model.forward(x), target);
  check_close("loss", loss, t.at("loss"));

  ag::backward(loss);
  for (const auto& [name, p] : model.named_parameters()) check_close("grad." + name, ag::grad(p), t.at("grad." + name));

  const auto& meta = fixture.metadata();
  AdamWOptions o;
  o.lr = std::stod(meta.at("lr"));
  o.beta1 = std::stod(meta.at("beta1"));
  o.beta2 = std::stod(meta.at("beta2"));
  o.eps = std::stod(meta.at("eps"));
  o.weight_decay = std::stod(meta.at("weight_decay"));
  AdamW opt(model.parameters(), o);
  const int steps = std::stoi(meta.at("steps"));
  for (int s = 0; s < steps; s++) {  // the first step uses the gradients above, as the script does
    opt.step();
    opt.zero_grad();
    ag::backward(ag::cross_entropy(model.forward(x), target));
  }
  for (const auto& [name, p] : model.named_parameters()) check_close(fmt::format("step{}.{}", steps, name), p, t.at(fmt::format("step{}.{}", steps, name)));
  WARN("worst max|ours - torch| / max|torch| over all tensors: " << worst_ratio);
}
