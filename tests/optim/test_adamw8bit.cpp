// AdamW8bit on the CPU: the code books; each step of a two-block parameter against the same steps
// written here in double (dequantize, textbook AdamW, new absmax, nearest code); small parameters
// bit for bit AdamW; the loss of an MLP against AdamW's; state bytes from sizes; state_dict round
// trips and their errors. The GPU kernel against this reference: tests/cuda/test_cuda_adamw8bit.cpp.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "optim/adamw8bit.h"
#include "tensor/all.h"

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace lab;

namespace {

Tensor trainable(Tensor t, const std::string& name = "") {
  ag::set_requires_grad(t, true, name);
  return t;
}

// Gradients that depend only on (step, parameter): the same in every run.
Tensor grad_for(int step, size_t i, const Shape& shape) {
  Generator gen(uint64_t(1000 * step + i));
  return randn(shape, gen);
}

void train(Optimizer& opt, int from, int to) {
  for (int step = from; step < to; step++) {
    opt.zero_grad();
    for (size_t i = 0; i < opt.params().size(); i++) {
      const Tensor& p = opt.params()[i];
      if (i == 1 && step % 2 == 0) continue;  // parameter 1 gets a grad on odd steps only
      ag::set_grad(p, grad_for(step, i, p.shape()));
    }
    opt.step();
  }
}

std::vector<Tensor> clones(const std::vector<Tensor>& ps) {
  std::vector<Tensor> out;
  for (const Tensor& p : ps) out.push_back(trainable(p.clone()));
  return out;
}

// [80, 64] (8-bit, 20 blocks), [4, 3] (f32 state), [70, 73] (8-bit, 5110 elements: a short last block).
std::vector<Tensor> make_params() {
  Generator gen(42);
  return {trainable(randn({80, 64}, gen)), trainable(randn({4, 3}, gen)), trainable(randn({70, 73}, gen))};
}

// The nearest entry of `map` to x, in double; ties (never seen with random data) to the lower.
int nearest(const quant::DynamicMap& map, double x) {
  int best = 0;
  for (int k = 1; k < 256; k++)
    if (std::abs(double(map[size_t(k)]) - x) < std::abs(double(map[size_t(best)]) - x)) best = k;
  return best;
}

// Whether x lies within `tol` of the midpoint of map[a] and map[b]: there either code is right.
bool near_midpoint(const quant::DynamicMap& map, double x, int a, int b, double tol) {
  return std::abs(x - (double(map[size_t(a)]) + double(map[size_t(b)])) / 2) <= tol;
}

}  // namespace

TEST_CASE("the code books are bitsandbytes' signed and unsigned dynamic maps") {
  const quant::DynamicMap &m = adam8bit_map_m(), &v = adam8bit_map_v();
  // signed: 127 negative values down to -0.99296875, 0 at index 127, 127 positive and 1.0
  CHECK(m[0] == -0.99296875f);
  CHECK(m[127] == 0.0f);
  CHECK(m[255] == 1.0f);
  // unsigned: 0, then 255 positive values up to 1.0, finer than the signed map's 127
  CHECK(v[0] == 0.0f);
  CHECK(v[255] == 1.0f);
  for (size_t k = 1; k < 256; k++) {
    CHECK(m[k] > m[k - 1]);
    CHECK(v[k] > v[k - 1]);
  }
  // the smallest nonzero values, 10^-6 times linspace means: signed (0.1 + 1) / 2, unsigned (0.1 + 0.55) / 2
  CHECK(m[128] == Approx(5.5e-7).epsilon(1e-6));
  CHECK(v[1] == Approx(3.25e-7).epsilon(1e-6));
  // quantize_2D's search is the nearest code by midpoint, for both maps
  Generator gen(5);
  const std::vector<float> xs = rand({2000}, gen).to_vector<float>();
  for (float x : xs) {
    for (float signed_x : {x, -x}) {
      const int got = quant::dynamic_code(m, signed_x), want = nearest(m, signed_x);
      if (got != want) CHECK(near_midpoint(m, signed_x, got, want, 1e-7));
    }
    const int got = quant::dynamic_code(v, x * x * x), want = nearest(v, double(x * x * x));
    if (got != want) CHECK(near_midpoint(v, double(x * x * x), got, want, 1e-7));
  }
}

TEST_CASE("each 8-bit step equals the same steps in double: dequantize, AdamW, new absmax, requantize") {
  const AdamWOptions o{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.1};
  const int64_t n = 300;  // a block of 256 and a short one of 44
  Generator gen(7);
  Tensor p = trainable(randn({n}, gen));
  AdamW8bit opt({p}, o, {.block_size = 256, .min_8bit_size = 1});
  REQUIRE(opt.is_8bit(0));
  const quant::DynamicMap &map_m = adam8bit_map_m(), &map_v = adam8bit_map_v();
  for (int t = 1; t <= 6; t++) {
    INFO("step " << t);
    // the state before the step (zeros before the first)
    std::vector<double> pw = p.to_vector<double>(), m(n, 0.0), v(n, 0.0);
    if (t > 1) {
      const std::vector<uint8_t> c1 = opt.state(0).at("state1").to_vector<uint8_t>(), c2 = opt.state(0).at("state2").to_vector<uint8_t>();
      const std::vector<float> a1 = opt.state(0).at("absmax1").to_vector<float>(), a2 = opt.state(0).at("absmax2").to_vector<float>();
      for (int64_t i = 0; i < n; i++) {
        m[size_t(i)] = double(map_m[c1[size_t(i)]]) * a1[size_t(i / 256)];
        v[size_t(i)] = double(map_v[c2[size_t(i)]]) * a2[size_t(i / 256)];
      }
    }
    // gradients scaled by step so that the blocks' absmax moves both ways
    const Tensor g = lab::mul(grad_for(t, 0, {n}), t % 2 == 0 ? 0.3 : 2.0);
    ag::set_grad(p, g);
    opt.step();
    const std::vector<double> gw = g.to_vector<double>();
    // textbook AdamW in double
    double absmax1[2] = {0, 0}, absmax2[2] = {0, 0};
    for (int64_t i = 0; i < n; i++) {
      pw[size_t(i)] *= 1 - o.lr * o.weight_decay;
      m[size_t(i)] = o.beta1 * m[size_t(i)] + (1 - o.beta1) * gw[size_t(i)];
      v[size_t(i)] = o.beta2 * v[size_t(i)] + (1 - o.beta2) * gw[size_t(i)] * gw[size_t(i)];
      const double m_hat = m[size_t(i)] / (1 - std::pow(o.beta1, t)), v_hat = v[size_t(i)] / (1 - std::pow(o.beta2, t));
      pw[size_t(i)] -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);
      absmax1[i / 256] = std::max(absmax1[i / 256], std::abs(m[size_t(i)]));
      absmax2[i / 256] = std::max(absmax2[i / 256], v[size_t(i)]);
    }
    const std::vector<double> got_p = p.to_vector<double>();
    const std::vector<float> a1 = opt.state(0).at("absmax1").to_vector<float>(), a2 = opt.state(0).at("absmax2").to_vector<float>();
    const std::vector<uint8_t> c1 = opt.state(0).at("state1").to_vector<uint8_t>(), c2 = opt.state(0).at("state2").to_vector<uint8_t>();
    REQUIRE(a1.size() == 2);
    for (int b = 0; b < 2; b++) {
      CHECK(a1[size_t(b)] == Approx(absmax1[b]).epsilon(1e-5));
      CHECK(a2[size_t(b)] == Approx(absmax2[b]).epsilon(1e-5));
    }
    int mismatched = 0;
    for (int64_t i = 0; i < n; i++) {
      INFO("element " << i);
      CHECK(got_p[size_t(i)] == Approx(pw[size_t(i)]).epsilon(1e-5).margin(1e-7));
      // the nearest code of m / absmax (with the sign rule) and of v / absmax; a value within 1e-5
      // of a midpoint may round either way between f32 and f64
      const double xm = m[size_t(i)] / absmax1[i / 256], xv = v[size_t(i)] / absmax2[i / 256];
      int want1 = nearest(map_m, xm);
      if (want1 == 127 && xm < 0) want1 = 126;
      const int want2 = nearest(map_v, xv);
      if (c1[size_t(i)] != want1) {
        mismatched++;
        CHECK(near_midpoint(map_m, xm, c1[size_t(i)], want1, 1e-5));
      }
      if (c2[size_t(i)] != want2) {
        mismatched++;
        CHECK(near_midpoint(map_v, xv, c2[size_t(i)], want2, 1e-5));
      }
    }
    CHECK(mismatched <= 2);
  }
  CHECK(opt.state(0).at("step").item<int64_t>() == 6);
}

TEST_CASE("a momentum too small for any nonzero code keeps its sign, as bitsandbytes rounds it") {
  // One block from zero state: m = 0.1 g, so m / absmax = g / g_max. -1e-9 is nearest the code of 0;
  // bitsandbytes' rule moves it to the smallest negative code; +1e-9 stays at 0.
  std::vector<float> p(256, 1.0f), g(256, 0.0f);
  g[0] = 1.0f, g[1] = -1e-9f, g[2] = 1e-9f, g[3] = -0.5f;
  std::vector<uint8_t> c1(256, 127), c2(256, 0);
  float a1 = 0, a2 = 0;
  adamw8bit_step_ref(p.data(), g.data(), c1.data(), c2.data(), &a1, &a2, 256, 256, adamw_coefficients(AdamWOptions{}, 1));
  const quant::DynamicMap& map = adam8bit_map_m();
  CHECK(a1 == Approx(0.1));
  CHECK(c1[0] == 255);
  CHECK(c1[1] == 126);
  CHECK(map[126] < 0);
  CHECK(c1[2] == 127);
  CHECK(c1[4] == 127);  // a zero gradient: m = 0
  CHECK(map[c1[3]] == Approx(-0.5).epsilon(0.02));
  CHECK(c2[0] == 255);
  CHECK(c2[4] == 0);
}

TEST_CASE("parameters under min_8bit_size keep f32 state and update as AdamW, bit for bit") {
  Generator gen(3);
  const std::vector<Tensor> start = {randn({4095}, gen), randn({7, 3}, gen), randn({4096}, gen)};
  std::vector<Tensor> a = clones(start), b = clones(start);
  const AdamWOptions o{.lr = 0.02, .weight_decay = 0.05};
  AdamW adamw(a, o);
  AdamW8bit eight(b, o);
  CHECK(!eight.is_8bit(0));
  CHECK(!eight.is_8bit(1));
  CHECK(eight.is_8bit(2));
  train(adamw, 0, 25);
  train(eight, 0, 25);
  for (size_t i : {size_t(0), size_t(1)}) {
    INFO("parameter " << i);
    CHECK(b[i].to_vector<float>() == a[i].to_vector<float>());
    CHECK(eight.state(i).at("state1").to_vector<float>() == adamw.state(i).at("exp_avg").to_vector<float>());
    CHECK(eight.state(i).at("state2").to_vector<float>() == adamw.state(i).at("exp_avg_sq").to_vector<float>());
    CHECK(eight.state(i).at("state1").dtype() == DType::f32);
    CHECK(eight.state(i).count("absmax1") == 0);
  }
  // 4096 elements: 8-bit, so close to AdamW but not equal
  CHECK(b[2].to_vector<float>() != a[2].to_vector<float>());
  CHECK(eight.state(2).at("state1").dtype() == DType::u8);
}

TEST_CASE("on a small MLP the loss of AdamW8bit follows AdamW's closer than AdamW with a 10 percent higher lr") {
  // y = W2 relu(W1 x + b1) + b2, fitted to a random teacher of the same shape; W1 [128, 32] and
  // W2 [64, 128] have 8-bit state (4096 and 8192 elements), b1 and b2 f32 state.
  Generator gen(11);
  const Tensor x = randn({128, 32}, gen);
  auto forward = [&](const std::vector<Tensor>& w, const Tensor& input) {
    Tensor h = ag::relu(ag::add(ag::matmul(input, ag::transpose(w[0], 0, 1)), w[1]));
    return ag::add(ag::matmul(h, ag::transpose(w[2], 0, 1)), w[3]);
  };
  std::vector<Tensor> teacher = {randn({128, 32}, gen), randn({128}, gen), lab::mul(randn({64, 128}, gen), 0.1), randn({64}, gen)};
  const Tensor y = forward(teacher, x);
  std::vector<Tensor> init = {lab::mul(randn({128, 32}, gen), 0.2), zeros({128}), lab::mul(randn({64, 128}, gen), 0.1), zeros({64})};
  std::vector<Tensor> w32 = clones(init), w8 = clones(init), w_lr = clones(init);
  const AdamWOptions o{.lr = 3e-3, .weight_decay = 0.01};
  AdamW adamw(w32, o);
  AdamW8bit eight(w8, o);
  AdamW higher_lr(w_lr, AdamWOptions{.lr = 1.1 * o.lr, .weight_decay = o.weight_decay});
  REQUIRE(eight.is_8bit(0));
  REQUIRE(eight.is_8bit(2));
  auto step = [&](Optimizer& opt, const std::vector<Tensor>& w) {
    opt.zero_grad();
    Tensor d = ag::sub(forward(w, x), y);
    Tensor loss = ag::mean(ag::mul(d, d));
    ag::backward(loss);
    opt.step();
    return loss.item<double>();
  };
  // the largest |loss - AdamW's loss| / AdamW's loss over the run, for 8-bit state and for lr x 1.1
  double first = 0, gap_8bit = 0, gap_lr = 0, last32 = 0, last8 = 0;
  for (int t = 0; t < 200; t++) {
    last32 = step(adamw, w32);
    last8 = step(eight, w8);
    const double lr_loss = step(higher_lr, w_lr);
    if (t == 0) first = last32;
    gap_8bit = std::max(gap_8bit, std::abs(last8 - last32) / last32);
    gap_lr = std::max(gap_lr, std::abs(lr_loss - last32) / last32);
  }
  // The tolerance: within 10% of AdamW's loss at every step, and closer than a 10% change of lr.
  // Why: 8-bit m and v are off by up to half a code step (~1% of the block's absmax near 1, more
  // for small values), so each update's direction is off by about 1%; each step requantizes from an
  // exact f32 update, so the errors do not compound, but the trajectories drift apart as any two
  // nearby runs do. Measured (seeds 1-5 and 11): 8-bit 2.7%-5.6%; lr x 1.05: 6.8%-7.5%; lr x 1.1: 12.5%-14.2%.
  INFO(fmt::format("loss {:.4f} -> AdamW {:.4f}, AdamW8bit {:.4f}; largest gap: 8-bit {:.4f}, lr x 1.1 {:.4f}", first, last32, last8,
                   gap_8bit, gap_lr));
  CHECK(last32 < 0.1 * first);
  CHECK(last8 < 0.1 * first);
  CHECK(gap_8bit < 0.10);
  CHECK(gap_8bit < gap_lr);
}

TEST_CASE("state_bytes: 8-bit state is codes plus one f32 absmax per block, about a quarter of AdamW's") {
  Generator gen(1);
  const std::vector<Tensor> start = {randn({256, 64}, gen), randn({300}, gen), randn({70, 73}, gen)};
  std::vector<Tensor> a = clones(start), b = clones(start);
  AdamW adamw(a);
  AdamW8bit eight(b);
  CHECK(adamw.state_bytes() == 0);
  CHECK(eight.state_bytes() == 0);
  for (size_t i = 0; i < start.size(); i++) {
    ag::set_grad(a[i], grad_for(0, i, start[i].shape()));
    ag::set_grad(b[i], grad_for(0, i, start[i].shape()));
  }
  adamw.step();
  eight.step();
  const size_t count = 8;  // the i64 "step" of each parameter
  CHECK(adamw.state_bytes() == 3 * count + 2 * 4 * (16384 + 300 + 5110));
  // 8-bit: 2 codes an element, 2 f32 absmax a block of 256 (64 and ceil(5110 / 256) = 20 blocks); the small one in f32
  CHECK(eight.state_bytes() == 3 * count + (2 * 16384 + 2 * 4 * 64) + 2 * 4 * 300 + (2 * 5110 + 2 * 4 * 20));
  // the large parameter alone: (2 + 8 / 256) / 8 = 0.254 of AdamW's
  const size_t big8 = 2 * 16384 + 2 * 4 * 64, big32 = 2 * 4 * 16384;
  CHECK(double(big8) / double(big32) == Approx(0.25390625));
  size_t held = 0;
  for (const auto& [name, t] : eight.state(0)) held += t.nbytes();
  CHECK(held == big8 + count);
}

TEST_CASE("AdamW8bit: save, load into a fresh optimizer, continue bit for bit, with bitsandbytes' state names") {
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("loralab_test_adamw8bit_{}.safetensors", getpid())).string();
  const AdamWOptions o{.lr = 0.01, .weight_decay = 0.1};
  std::vector<Tensor> whole = make_params(), first = make_params();
  AdamW8bit uninterrupted(whole, o);
  train(uninterrupted, 0, 10);
  AdamW8bit interrupted(first, o);
  train(interrupted, 0, 5);
  interrupted.save(path);
  std::vector<Tensor> second = clones(first);
  AdamW8bit resumed(second, o);
  resumed.load(path);
  CHECK(resumed.steps() == 5);
  train(resumed, 5, 10);
  for (size_t i = 0; i < whole.size(); i++) CHECK(second[i].to_vector<float>() == whole[i].to_vector<float>());
  const NamedTensors got = resumed.state_dict(), want = uninterrupted.state_dict();
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); k++) {
    INFO(want[k].first);
    CHECK(got[k].first == want[k].first);
    CHECK(got[k].second.dtype() == want[k].second.dtype());
    CHECK(got[k].second.to_vector<double>() == want[k].second.to_vector<double>());
  }
  std::vector<std::string> names;
  for (const auto& [name, t] : got) names.push_back(name);
  CHECK(names == std::vector<std::string>{"step", "state.0.absmax1", "state.0.absmax2", "state.0.state1", "state.0.state2",
                                          "state.0.step", "state.1.state1", "state.1.state2", "state.1.step", "state.2.absmax1",
                                          "state.2.absmax2", "state.2.state1", "state.2.state2", "state.2.step"});
  const SafetensorsFile saved = SafetensorsFile::open(path);
  CHECK(saved.metadata().at("optimizer") == "AdamW8bit");
  CHECK(saved.metadata().at("block_size") == "256");
  CHECK(saved.metadata().at("min_8bit_size") == "4096");
  AdamW adamw(clones(first), o);
  CHECK_THROWS_WITH(adamw.load(path), Catch::Contains("holds the state of AdamW8bit"));
  std::filesystem::remove(path);
}

TEST_CASE("AdamW8bit: load_state_dict names wrong shapes and dtypes of codes and absmax, and changes nothing") {
  std::vector<Tensor> ps = make_params();
  AdamW8bit trained(ps);
  train(trained, 0, 2);
  std::map<std::string, Tensor> good;
  for (const auto& [name, t] : trained.state_dict()) good[name] = t;
  AdamW8bit fresh(clones(ps));
  auto fails_with = [&](const std::map<std::string, Tensor>& tensors, const std::string& text) {
    REQUIRE_THROWS_WITH(fresh.load_state_dict(tensors), Catch::Contains(text) && Catch::Contains("HINT"));
    CHECK(fresh.steps() == 0);
    CHECK(fresh.state(0).empty());
  };
  auto with = [&](const std::string& key, const Tensor& t) {
    auto out = good;
    out[key] = t;
    return out;
  };
  fails_with(with("state.2.absmax1", zeros({19})),
             "state.2.absmax1: expected [20] f32 (one per block of 256 of the parameter's 5110 elements), found [19] f32");
  fails_with(with("state.0.state1", zeros({80, 64})), "state.0.state1: expected [80, 64] u8 (the parameter's), found [80, 64] f32");
  fails_with(with("state.1.state2", zeros({4, 3}, DType::u8)), "state.1.state2: expected [4, 3] f32 (the parameter's), found [4, 3] u8");
  fails_with(with("state.1.absmax1", zeros({1})), "unexpected keys: state.1.absmax1");
  auto without = good;
  without.erase("state.2.absmax2");
  fails_with(without, "missing keys: state.2.absmax2");
  fresh.load_state_dict(good);
  CHECK(fresh.steps() == 2);
  CHECK(fresh.state(2).at("state1").to_vector<uint8_t>() == trained.state(2).at("state1").to_vector<uint8_t>());
}

TEST_CASE("AdamW8bit arguments are checked") {
  Tensor big = trainable(zeros({4096}, DType::f64), "big.weight");
  CHECK_THROWS_WITH(AdamW8bit({big}), Catch::Contains("big.weight") && Catch::Contains("f32 parameters only") && Catch::Contains("HINT"));
  Tensor small = trainable(zeros({10}, DType::f64));
  AdamW8bit ok({small});  // small f64 parameters keep f64 state, as AdamW
  CHECK(ok.name() == "AdamW8bit");
  Tensor p = trainable(zeros({10}));
  CHECK_THROWS_WITH(AdamW8bit({p}, {}, {.block_size = 2048}), Catch::Contains("block_size 2048"));
  CHECK_THROWS_WITH(AdamW8bit({p}, {.beta2 = 1.0}), Catch::Contains("betas must be in [0, 1)"));
}
