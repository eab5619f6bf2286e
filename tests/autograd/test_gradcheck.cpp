// Every differentiable op passes gradcheck in f64, on shapes that broadcast and on
// non-contiguous inputs; and gradcheck itself catches a wrong gradient.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/all.h"

using namespace lab;

namespace {

Generator& gen() {
  static Generator g(2024);
  return g;
}

// A leaf of `shape` in f64 with values from randn, scaled and shifted.
Tensor leaf(const Shape& shape, double scale = 1.0, double shift = 0.0) {
  Tensor t = lab::add(lab::mul(randn(shape, gen(), DType::f64), scale), shift);
  ag::set_requires_grad(t);
  return t;
}

// A view made a leaf (views carry no autograd metadata of their own, so set it on the view).
Tensor as_leaf(Tensor t) {
  ag::set_requires_grad(t);
  return t;
}

// The same values seen through a transpose: a non-contiguous leaf.
Tensor transposed_leaf(int64_t rows, int64_t cols) { return as_leaf(randn({cols, rows}, gen(), DType::f64).t()); }

void check(const std::string& op, const ag::GradcheckFn& f, const std::vector<Tensor>& inputs) {
  ag::GradcheckResult r = ag::gradcheck(op, f, inputs);
  INFO(r.message);
  CHECK(r.ok);
}

using In = std::vector<Tensor>;

}  // namespace

TEST_CASE("gradcheck: binary ops with broadcasting and non-contiguous inputs") {
  check("add", [](const In& x) { return ag::add(x[0], x[1]); }, {leaf({3, 4}), leaf({4})});
  check("sub", [](const In& x) { return ag::sub(x[0], x[1]); }, {leaf({3, 1}), transposed_leaf(1, 5)});
  check("mul", [](const In& x) { return ag::mul(x[0], x[1]); }, {transposed_leaf(3, 4), leaf({2, 1, 4})});
  check("div", [](const In& x) { return ag::div(x[0], x[1]); }, {leaf({2, 3}), leaf({3}, 0.5, 2.0)});
  check("add scalar", [](const In& x) { return ag::add(x[0], 1.5); }, {leaf({4})});
  check("mul scalar", [](const In& x) { return ag::mul(x[0], -2.0); }, {transposed_leaf(2, 3)});
}

TEST_CASE("gradcheck: unary ops") {
  check("neg", [](const In& x) { return ag::neg(x[0]); }, {leaf({5})});
  check("pow", [](const In& x) { return ag::pow(x[0], 3.0); }, {transposed_leaf(2, 3)});
  check("pow fractional", [](const In& x) { return ag::pow(x[0], 0.5); }, {leaf({4}, 0.3, 2.0)});
  check("exp", [](const In& x) { return ag::exp(x[0]); }, {leaf({2, 3})});
  check("log", [](const In& x) { return ag::log(x[0]); }, {leaf({4}, 0.2, 2.0)});
  check("sqrt", [](const In& x) { return ag::sqrt(x[0]); }, {leaf({4}, 0.2, 2.0)});
  check("tanh", [](const In& x) { return ag::tanh(x[0]); }, {transposed_leaf(3, 2)});
  // relu away from its kink (finite differences straddling 0 would disagree with any convention).
  Tensor r = from_vector<double>({-1.5, -0.2, 0.3, 2.0});
  ag::set_requires_grad(r);
  check("relu", [](const In& x) { return ag::relu(x[0]); }, {r});
  check("gelu", [](const In& x) { return ag::gelu(x[0]); }, {leaf({3, 3}, 2.0)});
  check("silu", [](const In& x) { return ag::silu(x[0]); }, {leaf({3, 3}, 2.0)});
  check("silu transposed", [](const In& x) { return ag::silu(x[0]); }, {transposed_leaf(3, 2)});
}

TEST_CASE("gradcheck: reductions over dims") {
  check("sum all", [](const In& x) { return ag::sum(x[0]); }, {leaf({2, 3})});
  check("sum dim 1", [](const In& x) { return ag::sum(x[0], {1}); }, {leaf({2, 3, 4})});
  check("sum dims 0,2 keepdim", [](const In& x) { return ag::sum(x[0], {0, 2}, true); }, {as_leaf(randn({4, 3}, gen(), DType::f64).t().unsqueeze(0))});
  check("mean dim -1", [](const In& x) { return ag::mean(x[0], {-1}); }, {leaf({3, 5})});
  check("mean all", [](const In& x) { return ag::mean(x[0]); }, {transposed_leaf(2, 2)});
}

TEST_CASE("gradcheck: shape ops") {
  check("reshape", [](const In& x) { return ag::mul(ag::reshape(x[0], {3, 4}), x[1]); }, {transposed_leaf(4, 3), leaf({4})});
  check("view", [](const In& x) { return ag::view(x[0], {6}); }, {leaf({2, 3})});
  check("transpose", [](const In& x) { return ag::mul(ag::transpose(x[0], 0, 2), x[1]); }, {leaf({2, 3, 4}), leaf({4, 3, 2})});
  check("permute", [](const In& x) { return ag::mul(ag::permute(x[0], {2, 0, 1}), x[1]); }, {leaf({2, 3, 4}), leaf({4, 2, 3})});
  check("slice", [](const In& x) { return ag::slice(x[0], 1, 1, 5, 2); }, {leaf({3, 6})});
  check("cat", [](const In& x) { return ag::cat({x[0], x[1], x[2]}, 1); }, {leaf({2, 1}), transposed_leaf(2, 3), leaf({2, 2})});
  check("split", [](const In& x) {
    std::vector<Tensor> parts = ag::split(x[0], 2, 0);
    return ag::mul(parts[0], parts[2]);  // the middle piece gets no gradient
  }, {leaf({6, 2})});
}

TEST_CASE("gradcheck: matmul, batched and broadcast, vectors") {
  check("matmul 2d", [](const In& x) { return ag::matmul(x[0], x[1]); }, {leaf({3, 4}), transposed_leaf(4, 5)});
  check("matmul batched", [](const In& x) { return ag::matmul(x[0], x[1]); }, {leaf({2, 3, 4}), leaf({2, 4, 2})});
  check("matmul broadcast", [](const In& x) { return ag::matmul(x[0], x[1]); }, {leaf({2, 1, 3, 4}), leaf({3, 4, 2})});
  check("matmul matrix-vector", [](const In& x) { return ag::matmul(x[0], x[1]); }, {leaf({3, 4}), leaf({4})});
  check("matmul vector-batch", [](const In& x) { return ag::matmul(x[0], x[1]); }, {leaf({4}), leaf({2, 4, 3})});
}

TEST_CASE("gradcheck: softmax, log_softmax, cross_entropy") {
  check("softmax last", [](const In& x) { return ag::softmax(x[0], -1); }, {leaf({3, 5})});
  check("softmax dim 0", [](const In& x) { return ag::softmax(x[0], 0); }, {transposed_leaf(4, 3)});
  check("log_softmax", [](const In& x) { return ag::log_softmax(x[0], 1); }, {leaf({2, 4, 3})});
  Tensor targets = from_vector<int64_t>({2, -100, 0, 4});
  check("cross_entropy", [&](const In& x) { return ag::cross_entropy(x[0], targets); }, {leaf({4, 5}, 3.0)});
  check("cross_entropy non-contiguous", [&](const In& x) { return ag::cross_entropy(x[0], targets); }, {transposed_leaf(4, 5)});
}

TEST_CASE("gradcheck: causal_softmax, square, a query block, batched, non-contiguous") {
  const auto f = [](const In& x) { return ag::causal_softmax(x[0]); };
  check("causal_softmax square", f, {leaf({4, 4}, 2.0)});
  check("causal_softmax Tq < Tk", f, {leaf({3, 6}, 2.0)});
  check("causal_softmax batched", f, {leaf({2, 3, 5, 5})});
  check("causal_softmax non-contiguous", f, {transposed_leaf(5, 5)});
  check("causal_softmax non-contiguous Tq < Tk", f, {transposed_leaf(2, 5)});
}

TEST_CASE("gradcheck: layer_norm, embedding, dropout, masked_fill") {
  check("layer_norm affine", [](const In& x) { return ag::layer_norm(x[0], x[1], x[2]); }, {leaf({3, 6}), leaf({6}), leaf({6})});
  check("layer_norm plain", [](const In& x) { return ag::layer_norm(x[0], Tensor(), Tensor(), 1e-3); }, {transposed_leaf(2, 5)});
  Tensor ids = from_vector<int64_t>({1, 3, 1, 0, 3, 3}, {2, 3});
  check("embedding", [&](const In& x) { return ag::embedding(ids, x[0]); }, {leaf({4, 3})});
  // The same seed each call, so the numeric and analytic passes see the same mask.
  check("dropout", [](const In& x) {
    Generator g(7);
    return ag::dropout(x[0], 0.3, true, g);
  }, {leaf({4, 5})});
  Tensor mask = from_vector<uint8_t>({0, 1, 0, 0, 0, 1}, {2, 3});
  // A moderate fill value: with -1e9 the loss would be ~1e9 and finite differences would drown in rounding.
  check("masked_fill", [&](const In& x) { return ag::masked_fill(x[0], mask, -3.0); }, {leaf({2, 3})});
  check("masked_fill broadcast", [&](const In& x) { return ag::masked_fill(x[0], mask, 0.0); }, {leaf({4, 2, 3})});
}

TEST_CASE("gradcheck catches a wrong gradient and names the op, input and element") {
  // An op whose backward is off by a factor of 2: y = x^2 recorded with dx = g * x.
  auto bad = [](const In& x) {
    Tensor y = lab::mul(x[0], x[0]);
    return ag::record("bad_square", y, {x[0]}, [x = ag::detach(x[0])](const Tensor& g) { return std::vector<Tensor>{lab::mul(g, x)}; });
  };
  Tensor x = from_vector<double>({0.5, -1.0, 2.0});
  ag::set_requires_grad(x, true, "x");
  ag::GradcheckResult r = ag::gradcheck("bad_square", bad, {x});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Catch::Contains("bad_square") && Catch::Contains("input 0 (x") && Catch::Contains("element [2]"));
}

TEST_CASE("dropout is the identity in eval, and scales kept values in training") {
  Generator g(3);
  Tensor x = ones({1000}, DType::f64);
  CHECK(ag::dropout(x, 0.5, false, g).shares_storage_with(x));
  Tensor y = ag::dropout(x, 0.25, true, g);
  int zeros_seen = 0;
  for (double v : y.to_vector<double>()) {
    if (v == 0) zeros_seen++;
    else CHECK(v == Approx(1.0 / 0.75));
  }
  CHECK(zeros_seen > 200);
  CHECK(zeros_seen < 300);
  CHECK_THROWS_WITH(ag::dropout(x, 1.0, true, g), Catch::Contains("[0, 1)"));
}
