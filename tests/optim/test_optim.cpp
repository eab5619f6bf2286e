// SGD and AdamW on the CPU: each against its formula, written here in double in the textbook order
// (independent of the implementation's order of operations); convergence on a quadratic; which
// parameters are skipped; state_dict names, save -> load -> resume bit for bit; load errors.
// The GPU kernels against these CPU references: tests/cuda/test_cuda_optim.cpp.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "optim/adamw.h"
#include "optim/sgd.h"
#include "tensor/all.h"

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace lab;

namespace {

Tensor param(const std::vector<float>& values) {
  Tensor p = from_vector(values);
  ag::set_requires_grad(p);
  return p;
}

void give_grad(const Tensor& p, const std::vector<float>& g) { ag::set_grad(p, from_vector(g, p.shape())); }

void require_close(const std::vector<double>& got, const std::vector<double>& want, double rtol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(std::abs(got[i] - want[i]) <= rtol * std::abs(want[i]));
  }
}

// A file name of our own under the system's temp folder, removed when the test ends.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& tag)
      : path((std::filesystem::temp_directory_path() / fmt::format("loralab_test_optim_{}_{}.safetensors", tag, getpid())).string()) {}
  ~TempFile() { std::filesystem::remove(path); }
};

// Gradients that depend only on (step, parameter): the same in an interrupted and a whole run.
Tensor grad_for(int step, size_t i, const Shape& shape) {
  Generator gen(uint64_t(1000 * step + i));
  return randn(shape, gen);
}

// Three parameters: [4, 3] trained every step, [5] trained on odd steps only, [2] frozen.
std::vector<Tensor> make_params() {
  Generator gen(42);
  std::vector<Tensor> ps = {randn({4, 3}, gen), randn({5}, gen), randn({2}, gen)};
  ag::set_requires_grad(ps[0]);
  ag::set_requires_grad(ps[1]);
  ag::set_requires_grad(ps[2], false);
  return ps;
}

void train(Optimizer& opt, int from, int to) {
  for (int step = from; step < to; step++) {
    opt.zero_grad();
    for (size_t i = 0; i < opt.params().size(); i++) {
      const Tensor& p = opt.params()[i];
      if (i == 1 && step % 2 == 0) continue;
      ag::set_grad(p, grad_for(step, i, p.shape()));
    }
    opt.step();
  }
}

// New tensors holding the values of `ps`, with the same requires_grad: a model reloaded from a checkpoint.
std::vector<Tensor> reloaded(const std::vector<Tensor>& ps) {
  std::vector<Tensor> out;
  for (const Tensor& p : ps) {
    Tensor c = p.clone();
    ag::set_requires_grad(c, ag::requires_grad(p));
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> keys(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("SGD with momentum, dampening and weight decay follows torch.optim.SGD's formula") {
  const double lr = 0.1, momentum = 0.9, dampening = 0.25, wd = 0.01;
  for (bool nesterov : {false, true}) {
    INFO("nesterov " << nesterov);
    Tensor p = param({1.0f, -2.0f, 2.5f});
    SGD opt({p}, {lr, momentum, nesterov ? 0.0 : dampening, wd, nesterov});
    std::vector<double> pw = {1.0, -2.0, 2.5}, buf(3);
    const std::vector<std::vector<float>> grads = {{0.5f, -1.0f, 2.0f}, {0.25f, 0.75f, -1.5f}, {-0.125f, 0.5f, 1.0f}, {1.0f, -0.25f, 0.0f}};
    for (size_t t = 0; t < grads.size(); t++) {
      give_grad(p, grads[t]);
      opt.step();
      for (size_t i = 0; i < 3; i++) {
        double g = grads[t][i] + wd * pw[i];
        buf[i] = t == 0 ? g : momentum * buf[i] + (1 - (nesterov ? 0.0 : dampening)) * g;
        g = nesterov ? g + momentum * buf[i] : buf[i];
        pw[i] -= lr * g;
      }
      require_close(p.to_vector<double>(), pw, 1e-6);
    }
    CHECK(opt.steps() == 4);
    CHECK(keys(opt.state_dict()) == std::vector<std::string>{"step", "state.0.momentum_buffer"});
  }
}

TEST_CASE("plain SGD is p -= lr g and keeps no state") {
  Tensor p = param({3.0f, -1.0f});
  SGD opt({p}, {.lr = 0.5});
  give_grad(p, {1.0f, -2.0f});
  opt.step();
  CHECK(p.to_vector<float>() == std::vector<float>{2.5f, 0.0f});
  CHECK(keys(opt.state_dict()) == std::vector<std::string>{"step"});
}

TEST_CASE("AdamW follows torch.optim.AdamW's formula for several steps, f32 and f64") {
  const AdamWOptions o{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.1};
  const std::vector<std::vector<double>> grads = {{0.5, -1.0, 2.0, 1e-3}, {0.25, 0.75, -1.5, -2e-3}, {-0.125, 0.5, 1.0, 4e-3},
                                                  {1.0, -0.25, 0.0, 1e-3}, {0.3, 0.3, 0.3, -3e-3}};
  for (DType dtype : {DType::f32, DType::f64}) {
    INFO(dtype_name(dtype));
    Tensor p = from_vector<double>({1.0, -2.0, 0.5, 3.0}).to(dtype);
    ag::set_requires_grad(p);
    AdamW opt({p}, o);
    std::vector<double> pw = {1.0, -2.0, 0.5, 3.0}, m(4), v(4);
    for (size_t t = 1; t <= grads.size(); t++) {
      ag::set_grad(p, from_vector(grads[t - 1]).to(dtype));
      opt.step();
      // The textbook order: decay, moments, bias-corrected moments, then the step.
      for (size_t i = 0; i < 4; i++) {
        const double g = double(dtype == DType::f32 ? double(float(grads[t - 1][i])) : grads[t - 1][i]);
        pw[i] *= 1 - o.lr * o.weight_decay;
        m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
        v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
        const double m_hat = m[i] / (1 - std::pow(o.beta1, double(t))), v_hat = v[i] / (1 - std::pow(o.beta2, double(t)));
        pw[i] -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);
      }
      const double rtol = dtype == DType::f32 ? 1e-6 : 1e-13;
      require_close(p.to_vector<double>(), pw, rtol);
      require_close(opt.state(0).at("exp_avg").to_vector<double>(), m, dtype == DType::f32 ? 1e-5 : 1e-12);
      require_close(opt.state(0).at("exp_avg_sq").to_vector<double>(), v, dtype == DType::f32 ? 1e-5 : 1e-12);
    }
    CHECK(opt.state(0).at("step").item<int64_t>() == 5);
  }
}

TEST_CASE("AdamW's defaults are PyTorch's") {
  const AdamWOptions o;
  CHECK(o.lr == 1e-3);
  CHECK(o.beta1 == 0.9);
  CHECK(o.beta2 == 0.999);
  CHECK(o.eps == 1e-8);
  CHECK(o.weight_decay == 1e-2);
}

TEST_CASE("AdamW without weight decay minimizes a quadratic through a real backward pass") {
  Tensor target = from_vector<float>({3.0f, -1.0f, 0.5f, 2.0f});
  Tensor p = param({0.0f, 0.0f, 0.0f, 0.0f});
  AdamW opt({p}, {.lr = 0.05, .weight_decay = 0});
  double first_loss = 0, loss = 0;
  for (int step = 0; step < 600; step++) {
    opt.zero_grad();
    // sum (p - target)^2, every intermediate held until backward is done
    Tensor d = ag::sub(p, target);
    Tensor sq = ag::mul(d, d);
    Tensor l = ag::sum(sq);
    ag::backward(l);
    opt.step();
    loss = l.item<double>();
    if (step == 0) first_loss = loss;
  }
  INFO("loss " << first_loss << " -> " << loss);
  CHECK(loss < 1e-4 * first_loss);
  require_close(p.to_vector<double>(), target.to_vector<double>(), 1e-2);
}

TEST_CASE("frozen parameters and parameters without a grad are skipped, and get no state") {
  Tensor trained = param({1.0f, 2.0f}), no_grad = param({3.0f}), frozen = from_vector<float>({4.0f});
  ag::set_requires_grad(frozen, false);
  ag::set_grad(frozen, from_vector<float>({1.0f}));  // a grad on a frozen parameter is ignored too
  AdamW opt({trained, no_grad, frozen});
  give_grad(trained, {0.5f, 0.5f});
  opt.step();
  CHECK(trained.to_vector<float>() != std::vector<float>{1.0f, 2.0f});
  CHECK(no_grad.to_vector<float>() == std::vector<float>{3.0f});
  CHECK(frozen.to_vector<float>() == std::vector<float>{4.0f});
  CHECK(opt.state(1).empty());
  CHECK(opt.state(2).empty());
  CHECK(keys(opt.state_dict()) == std::vector<std::string>{"step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step"});

  // A parameter that first gets a grad later counts its own steps, as PyTorch's per-parameter "step".
  give_grad(no_grad, {1.0f});
  opt.step();
  CHECK(opt.steps() == 2);
  CHECK(opt.state(0).at("step").item<int64_t>() == 2);
  CHECK(opt.state(1).at("step").item<int64_t>() == 1);
  // Its first step is lr * g / (|g| + eps) ~ lr, after decay: as PyTorch's first AdamW step.
  CHECK(no_grad.item<double>() == Approx(3.0 * (1 - 1e-3 * 1e-2) - 1e-3).epsilon(1e-6));

  opt.zero_grad();
  CHECK_FALSE(ag::grad(trained).defined());
}

TEST_CASE("optimizer state lives in allocator memory: AdamW holds two f32 moments per parameter") {
  Tensor p = param(std::vector<float>(1000, 1.0f));
  AdamW opt({p});
  give_grad(p, std::vector<float>(1000, 0.5f));
  const size_t before = memory_stats(Device::cpu()).current;
  opt.step();
  const size_t grown = memory_stats(Device::cpu()).current - before;
  CHECK(grown >= 2 * 1000 * sizeof(float));
  CHECK(grown <= 2 * 1000 * sizeof(float) + 256);
}

TEST_CASE("save, load into a fresh optimizer, continue: bit for bit an uninterrupted run") {
  TempFile file("resume");
  auto run = [&](auto make_optimizer) {
    std::vector<Tensor> whole = make_params(), first = make_params();
    auto uninterrupted = make_optimizer(whole);
    train(*uninterrupted, 0, 10);

    auto interrupted = make_optimizer(first);
    train(*interrupted, 0, 5);
    interrupted->save(file.path);
    std::vector<Tensor> second = reloaded(first);
    auto resumed = make_optimizer(second);
    resumed->load(file.path);
    CHECK(resumed->steps() == 5);
    train(*resumed, 5, 10);
    for (size_t i = 0; i < whole.size(); i++) CHECK(second[i].to_vector<float>() == whole[i].to_vector<float>());
    CHECK(keys(resumed->state_dict()) == keys(uninterrupted->state_dict()));
  };
  SECTION("AdamW") {
    run([](const std::vector<Tensor>& ps) { return std::make_unique<AdamW>(ps, AdamWOptions{.lr = 0.01, .weight_decay = 0.1}); });
  }
  SECTION("SGD with Nesterov momentum") {
    run([](const std::vector<Tensor>& ps) {
      return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
    });
  }
}

TEST_CASE("load_state_dict names every missing and unexpected key and wrong shape, and changes nothing") {
  std::vector<Tensor> ps = make_params();
  AdamW trained(ps);
  train(trained, 0, 2);
  std::map<std::string, Tensor> good;
  for (const auto& [name, t] : trained.state_dict()) good[name] = t;

  AdamW fresh(reloaded(ps));
  auto fails_with = [&](const std::map<std::string, Tensor>& tensors, const std::string& text) {
    REQUIRE_THROWS_WITH(fresh.load_state_dict(tensors), Catch::Contains(text));
    CHECK(fresh.steps() == 0);
    CHECK(fresh.state(0).empty());
  };
  auto without = [&](const std::string& key) {
    auto t = good;
    t.erase(key);
    return t;
  };
  fails_with(without("state.0.exp_avg_sq"), "missing keys: state.0.exp_avg_sq");
  fails_with(without("step"), "missing keys: step");
  auto extra = good;
  extra["state.0.momentum_buffer"] = zeros({4, 3});
  extra["state.7.exp_avg"] = zeros({4, 3});
  fails_with(extra, "unexpected keys: state.0.momentum_buffer, state.7.exp_avg");
  auto wrong_shape = good;
  wrong_shape["state.1.exp_avg"] = zeros({6});
  fails_with(wrong_shape, "state.1.exp_avg: expected [5] f32 (the parameter's), found [6] f32");
  auto wrong_count = good;
  wrong_count["state.0.step"] = scalar(1.5, DType::f64);
  fails_with(wrong_count, "state.0.step: expected a step count");

  // A count stored as f64 (or f32, as PyTorch stores "step") loads as the same whole number.
  auto as_double = good;
  as_double["step"] = scalar(2, DType::f64);
  fresh.load_state_dict(as_double);
  CHECK(fresh.steps() == 2);
}

TEST_CASE("load names the file, and refuses a file written by another optimizer") {
  TempFile file("kind");
  std::vector<Tensor> ps = make_params();
  SGD sgd(ps, {.momentum = 0.9});
  train(sgd, 0, 2);  // parameter 1 gets a grad on odd steps only
  sgd.save(file.path);
  const SafetensorsFile saved = SafetensorsFile::open(file.path);
  CHECK(saved.metadata().at("optimizer") == "SGD");
  CHECK(saved.metadata().at("momentum") == "0.9");

  AdamW adamw(reloaded(ps));
  REQUIRE_THROWS_WITH(adamw.load(file.path), Catch::Contains(file.path) && Catch::Contains("holds the state of SGD"));
  SGD other(reloaded(ps), {.momentum = 0.9});
  std::vector<Tensor> fewer = {reloaded(ps)[0]};
  SGD small(fewer, {.momentum = 0.9});
  REQUIRE_THROWS_WITH(small.load(file.path), Catch::Contains(file.path) && Catch::Contains("unexpected keys: state.1.momentum_buffer"));
  other.load(file.path);
  CHECK(other.steps() == 2);
}

TEST_CASE("optimizer arguments are checked") {
  Tensor p = param({1.0f});
  CHECK_THROWS_WITH(AdamW(std::vector<Tensor>{}), Catch::Contains("empty parameter list"));
  CHECK_THROWS_WITH(AdamW({p, p}), Catch::Contains("appears twice"));
  CHECK_THROWS_WITH(AdamW({p}, {.beta1 = 1.0}), Catch::Contains("betas must be in [0, 1)"));
  CHECK_THROWS_WITH(SGD({p}, {.momentum = 0, .nesterov = true}), Catch::Contains("Nesterov momentum needs momentum > 0"));
  Tensor strided = from_vector<float>({1.0f, 2.0f, 3.0f, 4.0f}).view({2, 2}).t();
  ag::set_requires_grad(strided);
  ag::set_grad(strided, zeros({2, 2}));
  SGD opt({strided});
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("is not contiguous"));
}

TEST_CASE("a non-finite gradient stops the step, names the parameter and the step, and changes nothing") {
  Tensor a = from_vector<float>({1, 2, 3});
  Tensor b = from_vector<float>({4, 5});
  ag::set_requires_grad(a, true, "layer.weight");
  ag::set_requires_grad(b, true, "layer.bias");
  AdamW opt({a, b});
  ag::set_grad(a, from_vector<float>({0.1f, 0.2f, 0.3f}));
  ag::set_grad(b, from_vector<float>({0.5f, 0.5f}));
  opt.step();
  std::vector<float> a_before = a.to_vector<float>(), b_before = b.to_vector<float>();
  NamedTensors state_before = opt.state_dict();
  ag::set_grad(a, from_vector<float>({0.1f, 0.2f, 0.3f}));
  ag::set_grad(b, from_vector<float>({0.5f, NAN}));
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("step 2") && Catch::Contains("'layer.bias'") && Catch::Contains("1 of 2 values") &&
                                    Catch::Contains("nan at [1]") && Catch::Contains("no parameter was updated"));
  // Neither the parameter before the bad one nor any state moved.
  CHECK(a.to_vector<float>() == a_before);
  CHECK(b.to_vector<float>() == b_before);
  CHECK(opt.steps() == 1);
  NamedTensors state_after = opt.state_dict();
  REQUIRE(state_after.size() == state_before.size());
  for (size_t i = 0; i < state_after.size(); i++) {
    INFO(state_after[i].first);
    CHECK(state_after[i].second.to_vector<double>() == state_before[i].second.to_vector<double>());
  }
  ag::set_grad(b, from_vector<float>({INFINITY, 0.0f}));
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("inf at [0]"));
}
