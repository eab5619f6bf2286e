// nn/: dotted names, counts, freezing, train/eval, Linear's values and gradients, init, state
// dicts through safetensors files and their errors, the layers' input checks.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/mlp.h"
#include "nn/sequential.h"
#include "tensor/all.h"

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace lab;
using namespace lab::nn;
namespace fs = std::filesystem;

namespace {

// A GPT-2-shaped toy: wte, h.N.{ln_1, attn.{c_attn, c_proj}, mlp.{c_fc, c_proj}}, ln_f.
struct Attn : Module {
  explicit Attn(Generator& gen) {
    register_module("c_attn", std::make_shared<Linear>(4, 12, gen));
    register_module("c_proj", std::make_shared<Linear>(4, 4, gen));
  }
};

struct Block : UnaryModule {
  explicit Block(Generator& gen) {
    register_module("ln_1", std::make_shared<LayerNorm>(4));
    register_module("attn", std::make_shared<Attn>(gen));
    register_module("mlp", std::make_shared<MLP>(4, 16, 4, gen));
  }
  // x + mlp(ln_1(x)): enough to have a gradient through every layer but attn
  Tensor forward(const Tensor& x) override { return ag::add(x, child_as<MLP>("mlp")(child_as<LayerNorm>("ln_1")(x))); }
};

struct Toy : Module {
  explicit Toy(uint64_t seed) {
    Generator gen(seed);
    register_module("wte", std::make_shared<Embedding>(10, 4, gen));
    register_module("h", std::make_shared<Sequential>(std::make_shared<Block>(gen), std::make_shared<Block>(gen)));
    register_module("ln_f", std::make_shared<LayerNorm>(4));
  }
  Tensor forward(const Tensor& ids) {
    return child_as<LayerNorm>("ln_f")(child_as<Sequential>("h")(child_as<Embedding>("wte")(ids)));
  }
};

constexpr int64_t kBlockParams = 4 + 4 + (12 * 4 + 12) + (4 * 4 + 4) + (16 * 4 + 16) + (4 * 16 + 4);  // 236
constexpr int64_t kToyParams = 10 * 4 + 2 * kBlockParams + 4 + 4;                                    // 520

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [n, t] : named) out.push_back(n);
  return out;
}

Tensor toy_ids() { return from_vector<int64_t>({1, 2, 3, 9, 0, 5}, {2, 3}); }

// A file under the temp dir, removed when the test ends.
struct TempFile {
  fs::path path = fs::temp_directory_path() / fmt::format("loralab_test_nn_{}_{}.safetensors", getpid(), counter++);
  ~TempFile() { fs::remove(path); }
  static inline int counter = 0;
};

std::map<std::string, Tensor> as_map(const NamedTensors& named) { return {named.begin(), named.end()}; }

}  // namespace

TEST_CASE("nested modules list their parameters with dotted names, in registration order") {
  Toy toy(1);
  std::vector<std::string> block = {"ln_1.weight",        "ln_1.bias",          "attn.c_attn.weight", "attn.c_attn.bias",
                                    "attn.c_proj.weight", "attn.c_proj.bias",   "mlp.c_fc.weight",    "mlp.c_fc.bias",
                                    "mlp.c_proj.weight",  "mlp.c_proj.bias"};
  std::vector<std::string> expected = {"wte.weight"};
  for (const char* h : {"h.0.", "h.1."})
    for (const auto& n : block) expected.push_back(h + n);
  expected.push_back("ln_f.weight");
  expected.push_back("ln_f.bias");
  CHECK(names_of(toy.named_parameters()) == expected);
  CHECK(toy.parameters().size() == expected.size());

  // The autograd name of each parameter is its full dotted name, for error messages.
  for (const auto& [name, t] : toy.named_parameters()) CHECK(ag::name_of(t) == name);

  // Dotted lookups reach into sub-modules; parameter() is the stored tensor itself.
  CHECK(toy.parameter("h.1.attn.c_attn.weight").shape() == Shape{12, 4});
  CHECK(toy.child("h.0.attn")->named_parameters().size() == 4);
  CHECK(&toy.parameter("h.0.mlp.c_fc.bias") == &toy.child_as<Linear>("h.0.mlp.c_fc").bias());
  CHECK_FALSE(toy.has_parameter("h.2.ln_1.weight"));
  CHECK_THROWS_WITH(toy.parameter("h.0.attn.q.weight"),
                    Catch::Contains("no parameter named 'h.0.attn.q.weight'") && Catch::Contains("wte.weight"));
  CHECK_THROWS_WITH(toy.child("h.7"), Catch::Contains("no sub-module named 'h.7'"));

  std::vector<std::string> modules;
  for (const auto& [name, m] : toy.named_modules()) modules.push_back(name);
  CHECK(modules.size() == 1 + 1 + 1 + 2 * 8 + 1);  // toy, wte, h, 2 x (block, ln_1, attn, c_attn, c_proj, mlp, c_fc, c_proj), ln_f
  CHECK(modules[0].empty());
  CHECK(std::find(modules.begin(), modules.end(), "h.1.attn.c_proj") != modules.end());
}

TEST_CASE("Sequential names its layers 0, 1, ... and chains them") {
  Generator gen(0);
  struct Net : Module {
    explicit Net(Generator& gen) {
      register_module("layers", std::make_shared<Sequential>(std::make_shared<Linear>(3, 5, gen), std::make_shared<ReLU>(),
                                                             std::make_shared<Linear>(5, 2, gen, false)));
    }
  } net(gen);
  CHECK(names_of(net.named_parameters()) == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.2.weight"});
  auto& seq = net.child_as<Sequential>("layers");
  CHECK(seq.size() == 3);
  Tensor x = randn({4, 3}, gen);
  Tensor manual = seq[2](ag::relu(seq[0](x)));
  CHECK(seq(x).to_vector<float>() == manual.to_vector<float>());

  // A replaced layer is the one that runs.
  auto old = seq.replace_module("1", std::make_shared<GELU>());
  CHECK(dynamic_cast<ReLU*>(old.get()) != nullptr);
  CHECK(seq(x).to_vector<float>() == seq[2](ag::gelu(seq[0](x))).to_vector<float>());
}

TEST_CASE("names are checked when registered") {
  Generator gen(0);
  Linear lin(2, 3, gen);
  CHECK_THROWS_WITH(lin.register_parameter("weight", zeros({3})), Catch::Contains("already has a parameter named 'weight'"));
  CHECK_THROWS_WITH(lin.register_parameter("a.b", zeros({3})), Catch::Contains("no '.'"));
  CHECK_THROWS_WITH(lin.register_module("bias", std::make_shared<ReLU>()), Catch::Contains("already has a parameter named 'bias'"));
}

TEST_CASE("num_parameters counts all, or only the trainable ones after freezing") {
  Toy toy(1);
  CHECK(toy.num_parameters() == kToyParams);
  CHECK(toy.num_parameters(true) == kToyParams);
  toy.child("h.0")->freeze();
  CHECK(toy.num_parameters() == kToyParams);
  CHECK(toy.num_parameters(true) == kToyParams - kBlockParams);
  toy.freeze();
  CHECK(toy.num_parameters(true) == 0);
  toy.child("h.1.mlp")->unfreeze();
  CHECK(toy.num_parameters(true) == 16 * 4 + 16 + 4 * 16 + 4);
}

TEST_CASE("a frozen parameter gets no gradient, and freezing drops the one it had") {
  Generator gen(3);
  MLP mlp(4, 8, 2, gen);
  Tensor x = randn({5, 4}, gen);
  ag::backward(ag::sum(mlp(x)));
  CHECK(ag::grad(mlp.parameter("c_fc.weight")).defined());

  mlp.child("c_fc")->freeze();
  CHECK_FALSE(ag::grad(mlp.parameter("c_fc.weight")).defined());
  CHECK_FALSE(ag::requires_grad(mlp.parameter("c_fc.bias")));
  mlp.zero_grad();
  ag::backward(ag::sum(mlp(x)));
  CHECK_FALSE(ag::grad(mlp.parameter("c_fc.weight")).defined());
  CHECK_FALSE(ag::grad(mlp.parameter("c_fc.bias")).defined());
  CHECK(ag::grad(mlp.parameter("c_proj.weight")).defined());
  CHECK(ag::grad(mlp.parameter("c_proj.bias")).defined());

  mlp.freeze();
  CHECK_THROWS_WITH(ag::backward(ag::sum(mlp(x))), Catch::Contains("does not require grad"));
}

TEST_CASE("zero_grad drops every gradient") {
  Toy toy(2);
  ag::backward(ag::sum(toy.forward(toy_ids())));
  CHECK(ag::grad(toy.parameter("wte.weight")).defined());
  CHECK(ag::grad(toy.parameter("h.1.mlp.c_proj.weight")).defined());
  toy.zero_grad();
  for (const auto& [name, t] : toy.named_parameters()) CHECK_FALSE(ag::grad(t).defined());
}

TEST_CASE("train and eval reach every sub-module, and dropout is the identity in eval") {
  Generator gen(0);
  Sequential seq(std::make_shared<Linear>(4, 4, gen), std::make_shared<Dropout>(0.5, 7));
  for (const auto& [name, m] : seq.named_modules()) CHECK(m->is_training());
  Tensor x = ones({64, 4});
  Dropout& drop = seq.child_as<Dropout>("1");

  std::vector<float> y = drop(x).to_vector<float>();
  int64_t zeros_seen = std::count(y.begin(), y.end(), 0.0f), twos = std::count(y.begin(), y.end(), 2.0f);
  CHECK(zeros_seen + twos == int64_t(y.size()));  // kept elements are scaled by 1 / (1 - p)
  CHECK(zeros_seen > 64);
  CHECK(twos > 64);

  seq.eval();
  for (const auto& [name, m] : seq.named_modules()) CHECK_FALSE(m->is_training());
  CHECK(drop(x).to_vector<float>() == x.to_vector<float>());
  seq.train();
  CHECK(drop.is_training());

  // The same seed gives the same mask.
  drop.seed(11);
  std::vector<float> a = drop(x).to_vector<float>();
  drop.seed(11);
  CHECK(drop(x).to_vector<float>() == a);
  CHECK_THROWS_WITH(Dropout(1.0), Catch::Contains("[0, 1)"));
}

TEST_CASE("Linear computes x W^T + b, and its gradients are G^T x, sum G, G W") {
  Generator gen(0);
  Linear lin(3, 2, gen);
  std::vector<float> w = {1, 2, 3, -1, 0.5f, 0.25f}, b = {0.5f, -2};  // W [2, 3]
  lin.weight().copy_(from_vector(w, {2, 3}));
  lin.bias().copy_(from_vector(b, {2}));
  std::vector<float> xv = {1, 0, -1, 2, 3, 4};  // x [2, 3]
  Tensor x = from_vector(xv, {2, 3});
  ag::set_requires_grad(x, true, "x");

  Tensor y = lin(x);
  REQUIRE(y.shape() == Shape{2, 2});
  for (int i = 0; i < 2; i++)
    for (int o = 0; o < 2; o++) {
      float expect = b[o];
      for (int k = 0; k < 3; k++) expect += xv[i * 3 + k] * w[o * 3 + k];
      CHECK(y.at<float>({i, o}) == Approx(expect));
    }

  // L = sum(y * G):  dW = G^T x,  db = sum_rows G,  dx = G W
  std::vector<float> gv = {1, -1, 0.5f, 2};  // G [2, 2]
  ag::backward(ag::sum(ag::mul(y, from_vector(gv, {2, 2}))));
  Tensor dw = ag::grad(lin.weight()), db = ag::grad(lin.bias()), dx = ag::grad(x);
  for (int o = 0; o < 2; o++) {
    CHECK(db.at<float>({o}) == Approx(gv[o] + gv[2 + o]));
    for (int k = 0; k < 3; k++) CHECK(dw.at<float>({o, k}) == Approx(gv[o] * xv[k] + gv[2 + o] * xv[3 + k]));
  }
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 3; k++) CHECK(dx.at<float>({i, k}) == Approx(gv[i * 2] * w[k] + gv[i * 2 + 1] * w[3 + k]));

  // Leading dims pass through: [2, 2, 3] -> [2, 2, 2]; no bias means no bias parameter.
  CHECK(lin(randn({2, 2, 3}, gen)).shape() == Shape{2, 2, 2});
  Linear nobias(3, 2, gen, false);
  CHECK_FALSE(nobias.has_bias());
  CHECK(nobias.num_parameters() == 6);
  CHECK(nobias(x).to_vector<float>()[0] == Approx(nobias.weight().at<float>({0, 0}) - nobias.weight().at<float>({0, 2})));
}

TEST_CASE("layers say what input they expected") {
  Generator gen(0);
  Linear lin(4, 8, gen);
  CHECK_THROWS_WITH(lin(zeros({2, 5})),
                    Catch::Contains("Linear(4 -> 8)") && Catch::Contains("input of shape [2, 5] has 5 features, expected 4"));
  Toy toy(0);
  CHECK_THROWS_WITH(toy.child_as<Linear>("h.0.mlp.c_fc")(zeros({3})),
                    Catch::Contains("Linear(4 -> 16) with weight 'h.0.mlp.c_fc.weight'"));
  Embedding emb(10, 4, gen);
  CHECK_THROWS_WITH(emb(zeros({3})), Catch::Contains("Embedding(10, 4): ids must be i64 or i32, got f32"));
  CHECK(emb(from_vector<int32_t>({1, 9})).shape() == Shape{2, 4});
  LayerNorm ln(4);
  CHECK_THROWS_WITH(ln(zeros({2, 3})), Catch::Contains("LayerNorm(4): input of shape [2, 3] has last dim 3, expected 4"));
}

TEST_CASE("initialization follows PyTorch: Linear U(-1/sqrt(in), 1/sqrt(in)), Embedding N(0, 1), LayerNorm ones and zeros") {
  Generator gen(42);
  Linear lin(64, 128, gen);
  const double bound = 1.0 / 8.0;
  for (const Tensor& t : {lin.weight(), lin.bias()}) {
    Tensor a = abs(t);
    CHECK(max(a).item<float>() <= bound);
    CHECK(max(a).item<float>() > 0.95 * bound);   // spread over the whole range
    CHECK(std::abs(mean(t).item<float>()) < 0.02);  // U(-b, b) has mean 0; std of the mean is ~0.0003 for the weight
  }
  // The variance of U(-b, b) is b^2 / 3.
  CHECK(mean(mul(lin.weight(), lin.weight())).item<float>() == Approx(bound * bound / 3).epsilon(0.05));
  CHECK(init::kaiming_uniform_(zeros({3, 25}), std::sqrt(5.0), gen) == Approx(0.2));
  CHECK(init::fan_in(zeros({6, 4, 3})) == 12);

  Embedding emb(200, 50, gen);
  CHECK(std::abs(mean(emb.weight()).item<float>()) < 0.03);
  CHECK(mean(mul(emb.weight(), emb.weight())).item<float>() == Approx(1.0).epsilon(0.05));

  LayerNorm ln(5);
  CHECK(ln.parameter("weight").to_vector<float>() == std::vector<float>(5, 1.0f));
  CHECK(ln.parameter("bias").to_vector<float>() == std::vector<float>(5, 0.0f));
  CHECK(LayerNorm(5, 1e-5, false).num_parameters() == 0);

  // The same seed gives the same model; another seed another one.
  CHECK(Toy(5).parameter("h.0.attn.c_attn.weight").to_vector<float>() == Toy(5).parameter("h.0.attn.c_attn.weight").to_vector<float>());
  CHECK(Toy(5).parameter("h.0.attn.c_attn.weight").to_vector<float>() != Toy(6).parameter("h.0.attn.c_attn.weight").to_vector<float>());
}

TEST_CASE("LayerNorm without affine normalizes each row to mean 0 and variance 1") {
  LayerNorm ln(4, 1e-5, false);
  Tensor y = ln(from_vector<float>({1, 2, 3, 4, -2, 0, 2, 8}, {2, 4}));
  for (int r = 0; r < 2; r++) {
    double m = 0, v = 0;
    for (int c = 0; c < 4; c++) m += y.at<float>({r, c}) / 4.0;
    for (int c = 0; c < 4; c++) v += std::pow(y.at<float>({r, c}) - m, 2) / 4.0;
    CHECK(m == Approx(0).margin(1e-6));
    CHECK(v == Approx(1).epsilon(1e-4));
  }
}

TEST_CASE("a state dict saved to safetensors loads into a fresh model with another seed") {
  Toy a(1), b(2);
  TempFile file;
  a.save(file.path.string());
  CHECK(names_of(a.state_dict()) == names_of(a.named_parameters()));
  CHECK_FALSE(ag::requires_grad(a.state_dict()[0].second));  // detached
  Tensor ids = toy_ids();
  CHECK(a.forward(ids).to_vector<float>() != b.forward(ids).to_vector<float>());

  LoadReport report = b.load(file.path.string());
  CHECK(report.missing.empty());
  CHECK(report.unexpected.empty());
  for (const auto& [name, t] : a.named_parameters()) CHECK(b.parameter(name).to_vector<float>() == t.to_vector<float>());
  CHECK(a.forward(ids).to_vector<float>() == b.forward(ids).to_vector<float>());
  // Loading copies values: the parameters are still leaves that train.
  CHECK(ag::requires_grad(b.parameter("wte.weight")));

  // Any dtype is converted on the way in.
  std::map<std::string, Tensor> f64;
  for (const auto& [name, t] : a.state_dict()) f64[name] = t.to(DType::f64);
  Toy c(3);
  c.load_state_dict(f64);
  CHECK(c.parameter("ln_f.bias").dtype() == DType::f32);
  CHECK(c.parameter("h.1.mlp.c_fc.weight").to_vector<float>() == a.parameter("h.1.mlp.c_fc.weight").to_vector<float>());
}

TEST_CASE("strict loading names every missing and unexpected key, and a wrong shape") {
  Generator gen(0);
  Sequential a(std::make_shared<Linear>(4, 8, gen), std::make_shared<GELU>(), std::make_shared<Linear>(8, 2, gen));
  const std::vector<float> before = a.parameter("0.weight").to_vector<float>();
  std::map<std::string, Tensor> sd = as_map(a.state_dict());

  SECTION("missing key") {
    sd.erase("2.bias");
    CHECK_THROWS_WITH(a.load_state_dict(sd), Catch::Contains("1 missing key: 2.bias") && !Catch::Contains("unexpected"));
  }
  SECTION("unexpected key") {
    sd["3.weight"] = zeros({2, 2});
    CHECK_THROWS_WITH(a.load_state_dict(sd), Catch::Contains("1 unexpected key: 3.weight") && !Catch::Contains("missing"));
  }
  SECTION("both, counted") {
    sd.erase("0.weight");
    sd.erase("0.bias");
    sd["extra"] = zeros({1});
    CHECK_THROWS_WITH(a.load_state_dict(sd, true, "ckpt.safetensors"),
                      Catch::Contains("from ckpt.safetensors") && Catch::Contains("2 missing keys: 0.weight, 0.bias") &&
                          Catch::Contains("1 unexpected key: extra") && Catch::Contains("strict = false"));
  }
  SECTION("wrong shape, even when not strict") {
    sd["0.weight"] = zeros({8, 4}).transpose(0, 1);
    sd["2.bias"] = zeros({3});
    for (bool strict : {true, false})
      CHECK_THROWS_WITH(a.load_state_dict(sd, strict), Catch::Contains("2 tensors of the wrong shape") &&
                                                           Catch::Contains("expected 0.weight of shape [8, 4], found [4, 8]") &&
                                                           Catch::Contains("expected 2.bias of shape [2], found [3]"));
    // Broadcastable is not enough: a [1] tensor does not fill a [2] bias.
    sd = as_map(a.state_dict());
    sd["2.bias"] = zeros({1});
    CHECK_THROWS_WITH(a.load_state_dict(sd), Catch::Contains("expected 2.bias of shape [2], found [1]"));
  }
  SECTION("a long list is cut after 10 names") {
    std::map<std::string, Tensor> many = sd;
    for (int i = 0; i < 13; i++) many[fmt::format("extra.{:02}", i)] = zeros({1});
    CHECK_THROWS_WITH(a.load_state_dict(many), Catch::Contains("13 unexpected keys: extra.00, extra.01") &&
                                                   Catch::Contains("extra.09 and 3 more") && !Catch::Contains("extra.10"));
  }
  // A failed load copies nothing.
  CHECK(a.parameter("0.weight").to_vector<float>() == before);
}

TEST_CASE("a load from a file names the file, and non-strict loading reports what it skipped") {
  Generator gen(0);
  Linear small(4, 2, gen);
  Sequential seq(std::make_shared<Linear>(4, 2, gen), std::make_shared<Linear>(2, 2, gen));
  TempFile file;
  save_safetensors(file.path.string(), {{"0.weight", small.weight()}, {"0.bias", small.bias()}, {"head.weight", zeros({2, 2})}});
  CHECK_THROWS_WITH(seq.load(file.path.string()), Catch::Contains(file.path.string()) &&
                                                      Catch::Contains("2 missing keys: 1.weight, 1.bias") &&
                                                      Catch::Contains("1 unexpected key: head.weight"));

  const std::vector<float> second = seq.parameter("1.weight").to_vector<float>();
  LoadReport report = seq.load(file.path.string(), false);
  CHECK(report.missing == std::vector<std::string>{"1.weight", "1.bias"});
  CHECK(report.unexpected == std::vector<std::string>{"head.weight"});
  CHECK(seq.parameter("0.weight").to_vector<float>() == small.weight().to_vector<float>());
  CHECK(seq.parameter("0.bias").to_vector<float>() == small.bias().to_vector<float>());
  CHECK(seq.parameter("1.weight").to_vector<float>() == second);
}

TEST_CASE("to(device) moves the parameters in place and keeps them trainable leaves") {
  Toy toy(1);
  toy.child("h.0")->freeze();
  toy.to(Device::cpu());  // already there: nothing changes
  CHECK(ag::requires_grad(toy.parameter("wte.weight")));
  if (!cuda_available()) {
    WARN("GPU part skipped: " << cuda_unavailable_reason());
    return;
  }
  const std::vector<float> wte = toy.parameter("wte.weight").to_vector<float>();
  ag::backward(ag::sum(toy.forward(toy_ids())));
  toy.to(Device::cuda());
  for (const auto& [name, t] : toy.named_parameters()) {
    CHECK(t.device() == Device::cuda());
    CHECK(ag::name_of(t) == name);
    CHECK(ag::requires_grad(t) == (name.rfind("h.0.", 0) != 0));
    // the backward above reached every trainable parameter but attn's (Block::forward skips it): those grads moved too
    const bool had_grad = ag::requires_grad(t) && name.find(".attn.") == std::string::npos;
    CHECK(ag::grad(t).defined() == had_grad);
    if (had_grad) CHECK(ag::grad(t).device() == Device::cuda());
  }
  CHECK(toy.parameter("wte.weight").to_vector<float>() == wte);
  toy.zero_grad();
  ag::backward(ag::sum(toy.forward(toy_ids().to(Device::cuda()))));
  CHECK(ag::grad(toy.parameter("ln_f.weight")).device() == Device::cuda());
  CHECK_FALSE(ag::grad(toy.parameter("h.0.mlp.c_fc.weight")).defined());
  toy.to(Device::cpu());
  CHECK(toy.parameter("wte.weight").device() == Device::cpu());
}
