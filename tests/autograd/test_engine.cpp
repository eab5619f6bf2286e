// The backward engine: accumulation, topological order, freeing, no_grad, detach, seeds, errors.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "tensor/all.h"

using namespace lab;

TEST_CASE("a tensor used twice accumulates both paths: d(x*x + x)/dx = 2x + 1") {
  Tensor x = from_vector<double>({1.5, -2.0});
  ag::set_requires_grad(x, true, "x");
  Tensor y = ag::sum(ag::add(ag::mul(x, x), x));
  ag::backward(y);
  CHECK(ag::grad(x).to_vector<double>() == std::vector<double>{4.0, -3.0});
  // A second forward + backward accumulates into the same .grad, until zero_grad.
  ag::backward(ag::sum(ag::mul(x, 3.0)));
  CHECK(ag::grad(x).to_vector<double>() == std::vector<double>{7.0, 0.0});
  ag::zero_grad(x);
  CHECK_FALSE(ag::grad(x).defined());
}

TEST_CASE("a diamond graph visits the shared node once, after both of its users") {
  // a = x * 2; b = a * a; c = a + 1; L = sum(b * c): dL/dx = 2 * (2a*c + b) with a = 2x
  Tensor x = from_vector<double>({0.5, 1.0});
  ag::set_requires_grad(x);
  Tensor a = ag::mul(x, 2.0);
  Tensor L = ag::sum(ag::mul(ag::mul(a, a), ag::add(a, 1.0)));
  ag::backward(L);
  std::vector<double> g = ag::grad(x).to_vector<double>();
  for (int i = 0; i < 2; i++) {
    double av = 2 * (i == 0 ? 0.5 : 1.0);
    CHECK(g[size_t(i)] == Approx(2 * (2 * av * (av + 1) + av * av)));
  }
}

TEST_CASE("backward frees the graph, and a second pass through it is an error unless retained") {
  Tensor x = from_vector<double>({1.0});
  ag::set_requires_grad(x);
  Tensor y = ag::sum(ag::exp(x));
  ag::backward(y);
  CHECK_THROWS_WITH(ag::backward(y), Catch::Contains("already freed") && Catch::Contains("retain_graph"));
  Tensor z = ag::sum(ag::exp(x));
  ag::zero_grad(x);
  ag::backward(z, Tensor(), true);
  ag::backward(z);
  CHECK(ag::grad(x).item<double>() == Approx(2 * std::exp(1.0)));
}

TEST_CASE("a non-scalar root needs a seed of its shape") {
  Tensor x = from_vector<double>({1.0, 2.0});
  ag::set_requires_grad(x);
  Tensor y = ag::mul(x, x);
  CHECK_THROWS_WITH(ag::backward(y), Catch::Contains("shape [2]") && Catch::Contains("seed"));
  CHECK_THROWS_WITH(ag::backward(y, from_vector<double>({1.0, 1.0, 1.0})), Catch::Contains("must match"));
  ag::backward(y, from_vector<double>({1.0, 10.0}));
  CHECK(ag::grad(x).to_vector<double>() == std::vector<double>{2.0, 40.0});
}

TEST_CASE("no_grad records nothing, detach leaves the graph, constants get no grad") {
  Tensor x = from_vector<double>({3.0});
  ag::set_requires_grad(x);
  {
    ag::NoGradGuard guard;
    Tensor y = ag::mul(x, x);
    CHECK_FALSE(ag::requires_grad(y));
    CHECK_THROWS_WITH(ag::backward(y), Catch::Contains("does not require grad"));
  }
  CHECK(ag::grad_enabled());
  Tensor c = from_vector<double>({5.0});  // a constant
  Tensor y = ag::sum(ag::mul(ag::detach(ag::mul(x, x)), ag::mul(x, c)));
  ag::backward(y);
  CHECK(ag::grad(x).item<double>() == Approx(9.0 * 5.0));  // the detached x*x counts as a constant 9
  CHECK_FALSE(ag::grad(c).defined());
}

TEST_CASE("only floating-point leaves can require grad, and only leaves") {
  CHECK_THROWS_WITH(ag::set_requires_grad(from_vector<int64_t>({1}), true, "ids"), Catch::Contains("'ids' is i64"));
  Tensor x = from_vector<double>({1.0});
  ag::set_requires_grad(x);
  CHECK_THROWS_WITH(ag::set_requires_grad(ag::exp(x)), Catch::Contains("not a leaf"));
}

TEST_CASE("a deep chain does not overflow the stack") {
  Tensor x = from_vector<double>({1.0});
  ag::set_requires_grad(x);
  Tensor y = x;
  for (int i = 0; i < 20000; i++) y = ag::add(y, 0.0);
  ag::backward(ag::sum(y));
  CHECK(ag::grad(x).item<double>() == 1.0);
}

// A graph whose intermediates are only owned by the graph (locals gone before backward): the engine
// must keep every node alive while it walks them, even as it frees the edges it has used.
static Tensor two_layers(const Tensor& x, const Tensor& w) {
  Tensor h = ag::tanh(ag::matmul(x, w));  // h lives only in the graph once this returns
  return ag::sum(ag::mul(h, h));
}

TEST_CASE("intermediates that went out of scope before backward are still reached") {
  Tensor x = from_vector<double>({0.1, 0.2, 0.3, 0.4}, {2, 2});
  Tensor w = from_vector<double>({1.0, -1.0, 0.5, 2.0}, {2, 2});
  ag::set_requires_grad(w);
  ag::backward(two_layers(x, w));
  REQUIRE(ag::grad(w).defined());
  // d/dw sum(tanh(xw)^2) = x^T (2 tanh(xw) (1 - tanh(xw)^2))
  Tensor t = lab::tanh(lab::matmul(x, w));
  Tensor want = lab::matmul(x.t(), lab::mul(lab::mul(t, 2.0), lab::add(lab::neg(lab::mul(t, t)), 1.0)));
  std::vector<double> got = ag::grad(w).to_vector<double>(), expect = want.to_vector<double>();
  for (size_t i = 0; i < got.size(); i++) CHECK(got[i] == Approx(expect[i]).epsilon(1e-12));
}
