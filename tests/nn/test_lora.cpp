// nn/lora.h: LoRALinear and inject_lora against PEFT's semantics (LORA_FACTS.md sections 1-5): a fresh
// adapter changes nothing, only A and B train, gradients by finite differences, scaling, dropout on the
// LoRA branch only, merge/unmerge, several adapters, target matching and its errors, PEFT's
// print_trainable_parameters line. On a 2-layer, 32-wide GPT, so every case runs in milliseconds.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/gradcheck.h"
#include "nn/gpt.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/lora.h"
#include "nn/lora_count.h"
#include "quant/linear4bit.h"
#include "tensor/all.h"

#include <cmath>

using namespace lab;
using namespace lab::nn;

namespace {

GPTConfig tiny() {
  GPTConfig c;
  c.vocab_size = 50, c.n_positions = 8, c.n_embd = 32, c.n_layer = 2, c.n_head = 2;  // MLP 32 -> 128 -> 32
  return c;
}

Tensor ids(uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> v(2 * 8);
  for (auto& x : v) x = int64_t(g.next_u32() % 50);
  return from_vector(v, {2, 8});
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); i++) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

std::vector<LoRALinear*> lora_layers(Module& m) {
  std::vector<LoRALinear*> out;
  for (auto& [name, mod] : m.named_modules())
    if (auto* l = dynamic_cast<LoRALinear*>(mod)) out.push_back(l);
  return out;
}

// B starts at zero (so B A = 0); give it values so that the adapter does something.
void randomize_B(Module& model, const std::string& adapter, uint64_t seed) {
  Generator g(seed);
  for (LoRALinear* l : lora_layers(model)) init::normal_(l->lora_B(adapter), 0.0, 0.2, g);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a freshly injected GPT gives the base model's logits bit for bit") {
  Generator g1(7), g2(7), lg(1);
  GPT base(tiny(), g1), model(tiny(), g2);
  InjectReport rep = inject_lora(model, LoraConfig{}, lg);
  CHECK(rep.wrapped == std::vector<std::string>{"h.0.attn.c_attn", "h.1.attn.c_attn"});
  // PEFT's names, and the autograd names dotted from the root
  Tensor& a = model.parameter("h.0.attn.c_attn.lora_A.default.weight");
  CHECK(a.shape() == Shape{8, 32});
  CHECK(model.parameter("h.0.attn.c_attn.lora_B.default.weight").shape() == Shape{96, 8});
  CHECK(model.has_parameter("h.1.attn.c_attn.base_layer.weight"));
  CHECK(model.has_parameter("h.1.attn.c_attn.base_layer.bias"));
  CHECK(ag::name_of(a) == "h.0.attn.c_attn.lora_A.default.weight");
  // A ~ U(-1/sqrt(in), 1/sqrt(in)) and not all zero, B = 0
  double amax = 0;
  for (float v : a.to_vector<float>()) amax = std::max(amax, double(std::fabs(v)));
  CHECK(amax > 0.5 / std::sqrt(32.0));
  CHECK(amax <= 1 / std::sqrt(32.0));
  for (float v : model.parameter("h.0.attn.c_attn.lora_B.default.weight").to_vector<float>()) REQUIRE(v == 0.0f);

  const Tensor x = ids(3);
  std::vector<float> y0 = base.forward(x).to_vector<float>(), y1 = model.forward(x).to_vector<float>();
  REQUIRE(y0.size() == y1.size());
  for (size_t i = 0; i < y0.size(); i++) REQUIRE(y0[i] == y1[i]);
}

TEST_CASE("after a backward only lora_A and lora_B have gradients, r (in + out) of them per wrapped layer") {
  Generator g(0), lg(1);
  GPT model(tiny(), g);
  LoraConfig cfg;
  cfg.target_modules = {"c_attn", "c_fc"};
  InjectReport rep = inject_lora(model, cfg, lg);
  REQUIRE(rep.wrapped.size() == 4);
  // per layer: c_attn 32 -> 96 and c_fc 32 -> 128, r = 8
  CHECK(model.num_parameters(true) == lora_parameters({{"c_attn", 32, 96}, {"c_fc", 32, 128}}, 2, 8));
  CHECK(model.num_parameters(true) == 2 * (8 * (32 + 96) + 8 * (32 + 128)));

  const Tensor x = ids(4), y = ids(5);
  ag::backward(model.loss(x, y));
  int lora = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    INFO(name);
    const bool is_lora = name.find(".lora_A.") != std::string::npos || name.find(".lora_B.") != std::string::npos;
    CHECK(ag::requires_grad(p) == is_lora);
    CHECK(ag::grad(p).defined() == is_lora);
    if (name.find(".lora_B.") != std::string::npos) {  // dL/dB = scaling (x A^T)^T g: non-zero; dL/dA is 0 while B is 0
      double m = 0;
      for (float v : ag::grad(p).to_vector<float>()) m = std::max(m, double(std::fabs(v)));
      CHECK(m > 0);
    }
    lora += is_lora;
  }
  CHECK(lora == 8);
}

TEST_CASE("LoRALinear passes gradcheck in f64 with respect to x, A and B") {
  Generator g(2);
  auto base = std::make_shared<Linear>(5, 4, g);
  LoraConfig cfg;
  cfg.r = 3, cfg.lora_alpha = 6;
  LoRALinear layer(base, 5, 4, cfg, g);
  for (auto& [name, p] : layer.named_parameters()) {  // every parameter to f64, keeping requires_grad
    Tensor& t = layer.parameter(name);
    const bool rg = ag::requires_grad(t);
    t = ag::detach(t).to(DType::f64);
    ag::set_requires_grad(t, rg, name);
  }
  init::normal_(layer.lora_B("default"), 0.0, 0.5, g);
  Tensor x = randn({2, 3, 5}, g, DType::f64);
  ag::set_requires_grad(x, true, "x");
  auto f = [&](const std::vector<Tensor>& in) { return layer.forward(in[0]); };
  ag::GradcheckResult r = ag::gradcheck("LoRALinear", f, {x, layer.lora_A("default"), layer.lora_B("default")});
  INFO(r.message);
  CHECK(r.ok);
  CHECK_FALSE(ag::requires_grad(layer.parameter("base_layer.weight")));
}

TEST_CASE("scaling is alpha / r, or alpha / sqrt(r) with rsLoRA, and the forward uses it") {
  for (bool rs : {false, true}) {
    Generator g(3);
    LoraConfig cfg;
    cfg.r = 4, cfg.lora_alpha = 16, cfg.use_rslora = rs;
    const double expected = rs ? 8.0 : 4.0;
    CHECK(cfg.scaling() == expected);
    auto base = std::make_shared<Linear>(6, 5, g);
    LoRALinear layer(base, 6, 5, cfg, g);
    CHECK(layer.scaling() == expected);
    CHECK(layer.r() == 4);
    init::normal_(layer.lora_B("default"), 0.0, 0.3, g);
    Tensor x = randn({3, 6}, g);
    // y - base(x) = scaling * x A^T B^T
    Tensor want = lab::mul(lab::matmul(lab::matmul(x, ag::detach(layer.lora_A("default")).t()), ag::detach(layer.lora_B("default")).t()),
                           expected);
    Tensor got = lab::sub(layer.forward(x), base->forward(x));
    CHECK(max_abs_diff(got, want) < 1e-5);
  }
}

TEST_CASE("LoRA dropout acts on the LoRA branch only") {
  Generator g(4);
  auto base = std::make_shared<Linear>(16, 8, g);
  LoraConfig cfg;
  cfg.lora_dropout = 0.5;
  LoRALinear layer(base, 16, 8, cfg, g);
  Tensor x = randn({4, 16}, g);
  layer.train();
  // B = 0: in training the output is the base's exactly, dropout or not
  CHECK(max_abs_diff(layer.forward(x), base->forward(x)) == 0);

  init::normal_(layer.lora_B("default"), 0.0, 0.3, g);
  layer.eval();
  Tensor y_eval = layer.forward(x);
  layer.train();
  layer.dropout_generator() = Generator(99);
  Tensor y1 = layer.forward(x), y2 = layer.forward(x);
  CHECK(max_abs_diff(y1, y_eval) > 1e-3);  // a mask was drawn
  CHECK(max_abs_diff(y1, y2) > 1e-3);      // and another one the next time
  layer.dropout_generator() = Generator(99);
  CHECK(max_abs_diff(layer.forward(x), y1) == 0);  // reseeding replays the masks

  // a whole model: seed_lora_dropout reseeds every layer, as a training loop does each step
  Generator mg(41), lg(42);
  GPT model(tiny(), mg);
  inject_lora(model, cfg, lg);
  randomize_B(model, "default", 43);
  const Tensor t = ids(44);
  seed_lora_dropout(model, 7);
  Tensor m1 = model.forward(t), m2 = model.forward(t);
  CHECK(max_abs_diff(m1, m2) > 1e-4);
  seed_lora_dropout(model, 7);
  CHECK(max_abs_diff(model.forward(t), m1) == 0);
  model.eval();
  Tensor e1 = model.forward(t);
  CHECK(max_abs_diff(model.forward(t), e1) == 0);  // no dropout in eval
}

TEST_CASE("merge gives the unmerged logits, and unmerge restores the base weights") {
  Generator g(5), lg(6);
  GPT model(tiny(), g);
  LoraConfig cfg;
  cfg.target_modules = {"c_attn", "c_proj"};
  cfg.lora_alpha = 16;
  inject_lora(model, cfg, lg);
  randomize_B(model, "default", 8);
  model.eval();
  std::map<std::string, Tensor> before;
  for (const auto& [name, t] : model.state_dict()) before[name] = t.clone();

  const Tensor x = ids(9);
  Tensor unmerged = model.forward(x);
  merge_lora(model);
  for (LoRALinear* l : lora_layers(model)) CHECK(l->merged());
  CHECK(max_abs_diff(model.parameter("h.0.attn.c_attn.base_layer.weight"), before["h.0.attn.c_attn.base_layer.weight"]) > 1e-4);
  Tensor merged = model.forward(x);
  CHECK(max_abs_diff(merged, unmerged) < 1e-5);
  CHECK_THAT(error_of([&] { merge_lora(model); }), Catch::Contains("already merged"));

  unmerge_lora(model);
  for (LoRALinear* l : lora_layers(model)) CHECK_FALSE(l->merged());
  for (const auto& [name, t] : model.state_dict()) {
    INFO(name);
    CHECK(max_abs_diff(t, before[name]) < 1e-6);
  }
  CHECK(max_abs_diff(model.forward(x), unmerged) < 1e-5);
  CHECK_THAT(error_of([&] { model.child_as<LoRALinear>("h.0.attn.c_attn").unmerge(); }), Catch::Contains("no adapter is merged"));
}

TEST_CASE("a Linear4bit base takes LoRA but cannot be merged") {
  Generator g(10);
  Linear lin(64, 16, g);
  struct Net : Module {};
  Net net;
  net.register_module("proj", std::make_shared<quant::Linear4bit>(lin));
  InjectReport rep = inject_lora(net, LoraConfig{.r = 4, .target_modules = {"proj"}}, g);
  REQUIRE(rep.wrapped == std::vector<std::string>{"proj"});
  auto& layer = net.child_as<LoRALinear>("proj");
  CHECK(layer.in_features() == 64);
  CHECK(layer.out_features() == 16);
  CHECK(net.num_parameters(true) == 4 * (64 + 16));
  // the NF4 weight counts 64 * 16, as PEFT counts Params4bit: 1024 + 16 (bias) + 320 (A, B)
  CHECK(trainable_parameters_line(net) == "trainable params: 320 || all params: 1,360 || trainable%: 23.5294");
  Tensor x = randn({2, 64}, g);
  CHECK(max_abs_diff(layer.forward(x), layer.base_layer().forward(x)) == 0);
  CHECK_THAT(error_of([&] { merge_lora(net); }), Catch::Contains("not an nn::Linear") && Catch::Contains("Linear4bit"));
  CHECK_FALSE(layer.merged());

  // merge_lora is all or nothing: a Linear merged first is unmerged again when the Linear4bit after it refuses
  Net two;
  two.register_module("dense", std::make_shared<Linear>(64, 8, g));
  two.register_module("proj", std::make_shared<quant::Linear4bit>(lin));
  const Tensor w0 = ag::detach(two.parameter("dense.weight")).clone();
  REQUIRE(inject_lora(two, LoraConfig{.r = 2, .target_modules = {"dense", "proj"}}, g).wrapped.size() == 2);
  init::normal_(two.parameter("dense.lora_B.default.weight"), 0.0, 0.5, g);
  CHECK_THROWS(merge_lora(two));
  CHECK_FALSE(two.child_as<LoRALinear>("dense").merged());
  CHECK(max_abs_diff(two.parameter("dense.base_layer.weight"), w0) < 1e-6);  // W + d - d: W up to rounding
  two.child_as<LoRALinear>("dense").merge();  // on its own it merges
  CHECK(max_abs_diff(two.parameter("dense.base_layer.weight"), w0) > 1e-3);
}

TEST_CASE("two adapters: switching changes the outputs, and each trains alone") {
  Generator g(11), lg(12);
  GPT model(tiny(), g);
  inject_lora(model, LoraConfig{}, lg);
  LoraConfig other;
  other.r = 2, other.lora_alpha = 4;
  InjectReport rep = inject_lora(model, other, lg, "other");
  CHECK(rep.wrapped == std::vector<std::string>{"h.0.attn.c_attn", "h.1.attn.c_attn"});
  auto& l0 = model.child_as<LoRALinear>("h.0.attn.c_attn");
  CHECK(dynamic_cast<Linear*>(&l0.base_layer()) != nullptr);  // not wrapped twice
  CHECK(l0.adapters() == std::vector<std::string>{"default", "other"});
  CHECK(l0.active_adapter() == "default");
  CHECK(l0.r("other") == 2);
  CHECK(model.parameter("h.0.attn.c_attn.lora_A.other.weight").shape() == Shape{2, 32});
  // the new adapter is the one that trains
  CHECK(model.num_parameters(true) == 2 * 2 * (32 + 96));
  CHECK_FALSE(ag::requires_grad(l0.lora_A("default")));

  randomize_B(model, "default", 13);
  randomize_B(model, "other", 14);
  const Tensor x = ids(15);
  Tensor y_default = model.forward(x);
  set_active_adapter(model, "other");
  CHECK(l0.active_adapter() == "other");
  Tensor y_other = model.forward(x);
  CHECK(max_abs_diff(y_default, y_other) > 1e-3);
  set_active_adapter(model, "default");
  CHECK(max_abs_diff(model.forward(x), y_default) == 0);
  CHECK(model.num_parameters(true) == 2 * 8 * (32 + 96));  // PEFT's set_adapter: the active one trains

  const std::string e = error_of([&] { set_active_adapter(model, "nope"); });
  CHECK_THAT(e, Catch::Contains("'nope'") && Catch::Contains("default, other"));
  CHECK(l0.active_adapter() == "default");
  CHECK_THAT(error_of([&] { inject_lora(model, other, lg, "other"); }), Catch::Contains("already has an adapter named 'other'"));
  merge_lora(model);
  CHECK_THAT(error_of([&] { set_active_adapter(model, "other"); }), Catch::Contains("unmerge first"));
}

TEST_CASE("target modules match PEFT's list form and regex form") {
  auto wrapped = [](const LoraConfig& cfg) {
    Generator g(16), lg(17);
    GPT model(tiny(), g);
    return inject_lora(model, cfg, lg).wrapped;
  };
  LoraConfig cfg;
  cfg.target_modules = {"c_proj"};
  CHECK(wrapped(cfg) == std::vector<std::string>{"h.0.attn.c_proj", "h.0.mlp.c_proj", "h.1.attn.c_proj", "h.1.mlp.c_proj"});
  cfg.target_modules = {"attn.c_proj"};
  CHECK(wrapped(cfg) == std::vector<std::string>{"h.0.attn.c_proj", "h.1.attn.c_proj"});
  cfg.target_modules = {"h.1.mlp.c_fc"};
  CHECK(wrapped(cfg) == std::vector<std::string>{"h.1.mlp.c_fc"});
  cfg.target_modules = {"proj"};  // a suffix of a name, not of a dotted part: no match
  CHECK_THAT(error_of([&] { wrapped(cfg); }), Catch::Contains("not found") && Catch::Contains("h.0.attn.c_attn"));
  cfg.target_regex = R"(h\.0\.(attn|mlp)\.c_.*)";  // full match on the dotted name
  CHECK(wrapped(cfg) == std::vector<std::string>{"h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_fc", "h.0.mlp.c_proj"});
  cfg.target_regex = "c_fc";  // a full match, so a bare name matches nothing
  CHECK_THAT(error_of([&] { wrapped(cfg); }), Catch::Contains("regex 'c_fc'") && Catch::Contains("h.1.mlp.c_fc"));
}

TEST_CASE("inject_lora refuses non-linear targets and bad configs, and leaves the model as it was") {
  Generator g(18), lg(19);
  GPT model(tiny(), g);
  LoraConfig cfg;
  cfg.target_modules = {"c_attn", "ln_1"};
  const std::string e = error_of([&] { inject_lora(model, cfg, lg); });
  CHECK_THAT(e, Catch::Contains("'h.0.ln_1'") && Catch::Contains("not a Linear-like layer") && Catch::Contains("weight [32]"));
  CHECK(lora_layers(model).empty());
  CHECK(model.num_parameters(true) == model.num_parameters());

  auto bad = [&](const LoraConfig& c) { return error_of([&] { inject_lora(model, c, lg); }); };
  LoraConfig c;
  c.r = 0;
  CHECK_THAT(bad(c), Catch::Contains("r must be >= 1"));
  c = LoraConfig{};
  c.bias = "all";
  CHECK_THAT(bad(c), Catch::Contains("bias 'all'"));
  c = LoraConfig{};
  c.lora_dropout = 1.0;
  CHECK_THAT(bad(c), Catch::Contains("lora_dropout"));
  c = LoraConfig{};
  c.lora_alpha = 0;
  CHECK_THAT(bad(c), Catch::Contains("lora_alpha"));
  c = LoraConfig{};
  c.target_regex = "h.(";
  CHECK_THAT(bad(c), Catch::Contains("not a valid regular expression"));
  // Found by fuzz_adapter_config (tests/fuzz/adapter_config/crash_regex_backref_overflow): a number this
  // long overflowed an int inside libstdc++'s regex compiler (UBSan: signed integer overflow).
  c.target_regex = R"(h\44444444444444444444.c_attn)";
  CHECK_THAT(bad(c), Catch::Contains("more than 6 digits"));
  c.target_regex = R"(h\.[0-9]{1,1000000}\.c_attn)";
  CHECK_THAT(bad(c), Catch::Contains("more than 6 digits"));
  c.target_regex = R"(h\.[0-9]{1,99}\.c_attn)";  // a sane count is fine
  CHECK_NOTHROW(c.validate("test"));
  CHECK(lora_layers(model).empty());
  CHECK_THAT(error_of([&] { merge_lora(model); }), Catch::Contains("no LoRA layers"));
}

TEST_CASE("trainable_parameters_line prints PEFT's line, for GPT-2 124M and for the tiny model") {
  // GPT-2 124M: V = 50257, P = 1024, C = 768, L = 12; per block 2 LayerNorms, c_attn, c_proj, c_fc, mlp.c_proj
  const int64_t V = 50257, P = 1024, C = 768, L = 12;
  const int64_t gpt2 = V * C + P * C + L * (2 * 2 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C)) + 2 * C;
  CHECK(gpt2 == 124439808);  // HF's GPT2LMHeadModel (lm_head tied to wte)
  const int64_t lora = lora_parameters({{"c_attn", 768, 2304}}, 12, 8);
  CHECK(trainable_parameters_line(lora, gpt2 + lora) == "trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364");

  Generator g(20), lg(21);
  GPT model(tiny(), g);
  CHECK(model.num_parameters() == 27328);
  inject_lora(model, LoraConfig{}, lg);
  CHECK(trainable_parameters_line(model) == "trainable params: 2,048 || all params: 29,376 || trainable%: 6.9717");
  CHECK(trainable_parameters_line(0, 1000) == "trainable params: 0 || all params: 1,000 || trainable%: 0.0000");
}
