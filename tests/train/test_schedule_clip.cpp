// The learning-rate schedule at its corners, and clip_grad_norm against values computed by hand
// (and by torch.nn.utils.clip_grad_norm_, which gives the same numbers for these inputs).
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "optim/clip.h"
#include "tensor/all.h"
#include "train/schedule.h"

#include <cmath>
#include <numbers>

using namespace lab;

TEST_CASE("lr schedule: linear warmup, cosine to min_lr, then min_lr") {
  train::LrSchedule s{1.0, 0.1, 4, 14};
  s.validate();
  CHECK(s.at(0) == Approx(0.25));  // max_lr * 1 / 4
  CHECK(s.at(1) == Approx(0.5));
  CHECK(s.at(3) == Approx(1.0));   // the last warmup step reaches max_lr
  CHECK(s.at(4) == Approx(1.0));   // the cosine starts at max_lr
  CHECK(s.at(9) == Approx(0.55));  // halfway through the cosine: (max + min) / 2
  const double quarter = 0.1 + 0.5 * (1 + std::cos(std::numbers::pi * 0.3)) * 0.9;
  CHECK(s.at(7) == Approx(quarter));
  CHECK(s.at(14) == Approx(0.1));
  CHECK(s.at(1000) == Approx(0.1));
  for (int64_t i = 4; i < 14; i++) CHECK(s.at(i + 1) < s.at(i));  // decreasing after warmup
  train::LrSchedule no_warmup{2.0, 0.0, 0, 10};
  CHECK(no_warmup.at(0) == Approx(2.0));
  CHECK(no_warmup.at(5) == Approx(1.0));
}

TEST_CASE("lr schedule: bad values are errors that name them") {
  CHECK_THROWS_WITH((train::LrSchedule{1.0, 2.0, 0, 10}.validate()), Catch::Contains("min lr"));
  CHECK_THROWS_WITH((train::LrSchedule{1.0, 0.1, 11, 10}.validate()), Catch::Contains("warmup"));
  CHECK_THROWS_WITH((train::LrSchedule{0.0, 0.0, 0, 10}.validate()), Catch::Contains("max lr"));
  CHECK_THROWS_WITH((train::LrSchedule{1.0, 0.1, 0, 0}.validate()), Catch::Contains("at least 1 step"));
}

namespace {
Tensor param_with_grad(const std::vector<float>& value, const std::vector<float>& grad) {
  Tensor p = from_vector(value);
  ag::set_requires_grad(p);
  ag::set_grad(p, from_vector(grad));
  return p;
}
}  // namespace

TEST_CASE("clip_grad_norm: total norm over all grads, scaled by max_norm / (norm + 1e-6)") {
  // grads (3, 4) and (12): norm sqrt(9 + 16 + 144) = 13
  Tensor a = param_with_grad({1, 2}, {3, 4}), b = param_with_grad({5}, {12});
  Tensor frozen = from_vector<float>({1, 1});  // no grad: skipped
  double norm = clip_grad_norm({a, frozen, b}, 1.0);
  CHECK(norm == Approx(13.0));
  const double coef = 1.0 / (13.0 + 1e-6);
  std::vector<float> ga = ag::grad(a).to_vector<float>(), gb = ag::grad(b).to_vector<float>();
  CHECK(ga[0] == Approx(3 * coef).epsilon(1e-6));
  CHECK(ga[1] == Approx(4 * coef).epsilon(1e-6));
  CHECK(gb[0] == Approx(12 * coef).epsilon(1e-6));
  CHECK(clip_grad_norm({a, b}, 1.0) == Approx(1.0).epsilon(1e-5));  // now the norm is max_norm
  CHECK(a.to_vector<float>() == std::vector<float>{1, 2});          // parameters untouched
}

TEST_CASE("clip_grad_norm: below max_norm the grads keep every bit") {
  Tensor a = param_with_grad({1, 2, 3}, {0.1f, -0.2f, 0.3f});
  double norm = clip_grad_norm({a}, 1.0);
  CHECK(norm == Approx(std::sqrt(0.01 + 0.04 + 0.09)).epsilon(1e-6));
  CHECK(ag::grad(a).to_vector<float>() == std::vector<float>{0.1f, -0.2f, 0.3f});
  CHECK(clip_grad_norm({}, 1.0) == 0.0);
  CHECK_THROWS_WITH(clip_grad_norm({a}, 0.0), Catch::Contains("max_norm"));
}
