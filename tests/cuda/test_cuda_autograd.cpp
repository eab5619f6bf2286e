// Autograd on the GPU: every differentiable op's value and gradients on cuda against the same
// computation on the CPU, and the PyTorch fixture MLP (tests/nn/test_torch_fixture.cpp) trained
// on the GPU. This is where a missing GPU path in a backward pass would show.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "optim/adamw.h"
#include "tensor/all.h"
#include "tensor/safetensors.h"

#include <cmath>
#include <functional>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);

// max |a - b| <= rtol * max |b| + atol, over the whole tensor.
void require_close(const std::string& what, const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < x.size(); i++) diff = std::max(diff, std::fabs(x[i] - y[i])), scale = std::max(scale, std::fabs(y[i]));
  INFO(what << ": max diff " << diff << ", max |cpu| " << scale);
  CHECK(diff <= rtol * scale + atol);
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Run f forward and backward (against fixed random weights) on CPU and on GPU from the same f32
// inputs; compare the outputs and every input's gradient.
void compare_devices(const std::string& op, const Fn& f, const std::vector<Tensor>& cpu_inputs) {
  auto run = [&](Device d) {
    std::vector<Tensor> inputs;
    for (const Tensor& t : cpu_inputs) {
      Tensor x = t.to(d).clone();
      if (is_floating(x.dtype())) ag::set_requires_grad(x);
      inputs.push_back(x);
    }
    Tensor y = f(inputs);
    Generator g(5);
    Tensor w = randn(y.shape(), g).to(d);
    ag::backward(ag::sum(ag::mul(y, w)));
    std::vector<Tensor> out{y.to(Device::cpu())};
    for (const Tensor& x : inputs) out.push_back(ag::requires_grad(x) ? ag::grad(x).to(Device::cpu()) : Tensor());
    return out;
  };
  std::vector<Tensor> c = run(Device::cpu()), g = run(gpu);
  require_close(op + " value", g[0], c[0]);
  for (size_t i = 1; i < c.size(); i++)
    if (c[i].defined()) require_close(op + " grad of input " + std::to_string(i - 1), g[i], c[i]);
}

Tensor rnd(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  return randn(shape, g);
}

}  // namespace

TEST_CASE("every differentiable op gives the same value and gradients on the GPU as on the CPU") {
  using In = std::vector<Tensor>;
  compare_devices("add broadcast", [](const In& x) { return ag::add(x[0], x[1]); }, {rnd({33, 7}, 1), rnd({7}, 2)});
  compare_devices("sub", [](const In& x) { return ag::sub(x[0], x[1]); }, {rnd({5, 1}, 3), rnd({1, 9}, 4)});
  compare_devices("mul", [](const In& x) { return ag::mul(x[0], x[1]); }, {rnd({4, 6}, 5), rnd({6}, 6)});
  compare_devices("div", [](const In& x) { return ag::div(x[0], ag::add(ag::mul(x[1], x[1]), 1.0)); }, {rnd({8}, 7), rnd({8}, 8)});
  compare_devices("pow exp tanh", [](const In& x) { return ag::tanh(ag::exp(ag::pow(x[0], 2.0))); }, {rnd({3, 5}, 9)});
  compare_devices("log sqrt", [](const In& x) { return ag::log(ag::sqrt(ag::add(ag::mul(x[0], x[0]), 1.0))); }, {rnd({10}, 10)});
  compare_devices("relu gelu", [](const In& x) { return ag::add(ag::relu(x[0]), ag::gelu(x[0])); }, {rnd({129}, 11)});
  compare_devices("sum mean", [](const In& x) { return ag::add(ag::sum(x[0], {1}, true), ag::mean(x[0], {0, 2}, true)); }, {rnd({3, 4, 5}, 12)});
  compare_devices("views", [](const In& x) { return ag::reshape(ag::permute(ag::transpose(x[0], 0, 1), {2, 0, 1}), {5, 12}); }, {rnd({3, 4, 5}, 13)});
  compare_devices("slice cat split", [](const In& x) {
    std::vector<Tensor> parts = ag::split(x[0], 2, 1);
    return ag::cat({ag::slice(x[0], 1, 1, 3), parts[1], parts[0]}, 1);
  }, {rnd({3, 5}, 14)});
  compare_devices("matmul batched broadcast", [](const In& x) { return ag::matmul(x[0], x[1]); }, {rnd({2, 1, 7, 33}, 15), rnd({3, 33, 5}, 16)});
  compare_devices("softmax", [](const In& x) { return ag::softmax(x[0], -1); }, {rnd({7, 129}, 17)});
  compare_devices("log_softmax dim 0", [](const In& x) { return ag::log_softmax(x[0], 0); }, {rnd({33, 5}, 18)});
  compare_devices("causal_softmax", [](const In& x) { return ag::causal_softmax(x[0]); }, {rnd({2, 3, 33, 33}, 26)});
  compare_devices("causal_softmax Tq < Tk", [](const In& x) { return ag::causal_softmax(x[0]); }, {rnd({3, 5, 40}, 27)});
  Tensor targets = from_vector<int64_t>({3, -100, 0, 7, 7, 1});
  compare_devices("cross_entropy", [&](const In& x) { return ag::cross_entropy(x[0], targets.to(x[0].device())); }, {rnd({6, 9}, 19)});
  compare_devices("layer_norm", [](const In& x) { return ag::layer_norm(x[0], x[1], x[2]); }, {rnd({7, 33}, 20), rnd({33}, 21), rnd({33}, 22)});
  Tensor ids = from_vector<int64_t>({1, 4, 1, 0, 4, 4, 2, 3}, {2, 4});
  compare_devices("embedding", [&](const In& x) { return ag::embedding(ids.to(x[0].device()), x[0]); }, {rnd({5, 16}, 23)});
  Tensor mask = from_vector<uint8_t>({0, 1, 1, 0, 0, 1}, {2, 3});
  compare_devices("masked_fill", [&](const In& x) { return ag::masked_fill(x[0], mask.to(x[0].device()), -2.0); }, {rnd({4, 2, 3}, 24)});
  compare_devices("dropout", [](const In& x) {
    Generator g(3);
    return ag::dropout(x[0], 0.25, true, g);
  }, {rnd({8, 8}, 25)});
}

TEST_CASE("the PyTorch fixture MLP trains on the GPU to PyTorch's parameters") {
  SafetensorsFile fixture = SafetensorsFile::open(LAB_TEST_DATA_DIR "/reference/mlp_adamw.safetensors");
  std::map<std::string, Tensor> t = fixture.load_all();
  Generator gen(1);
  nn::Linear fc1(6, 16, gen), fc2(16, 5, gen);
  nn::LayerNorm ln(16);
  fc1.load_state_dict({{"weight", t.at("fc1.weight")}, {"bias", t.at("fc1.bias")}});
  ln.load_state_dict({{"weight", t.at("ln.weight")}, {"bias", t.at("ln.bias")}});
  fc2.load_state_dict({{"weight", t.at("fc2.weight")}, {"bias", t.at("fc2.bias")}});
  fc1.to(gpu), ln.to(gpu), fc2.to(gpu);
  Tensor x = t.at("input").to(gpu), target = t.at("target").to(gpu);
  auto loss_fn = [&] { return ag::cross_entropy(fc2.forward(ln.forward(ag::gelu(fc1.forward(x)))), target); };
  Tensor loss = loss_fn();
  require_close("loss", loss, t.at("loss"));
  ag::backward(loss);
  require_close("grad fc1.weight", ag::grad(fc1.weight()), t.at("grad.fc1.weight"));
  require_close("grad ln.weight", ag::grad(ln.parameter("weight")), t.at("grad.ln.weight"));
  std::vector<Tensor> params;
  for (nn::Module* m : std::vector<nn::Module*>{&fc1, &ln, &fc2})
    for (const Tensor& p : m->parameters()) params.push_back(p);
  AdamWOptions o;
  o.lr = 1e-2, o.weight_decay = 0.1;
  AdamW opt(params, o);
  for (int s = 0; s < 5; s++) {
    opt.step();
    opt.zero_grad();
    ag::backward(loss_fn());
  }
  require_close("step5 fc1.weight", fc1.weight(), t.at("step5.fc1.weight"));
  require_close("step5 fc2.bias", fc2.bias(), t.at("step5.fc2.bias"));
  require_close("step5 ln.bias", ln.parameter("bias"), t.at("step5.ln.bias"));
}
