// ag::matmul's backward on the shapes nn::Linear gives it: a batch of inputs against one shared 2-D
// weight, whose gradient backward computes as one product over the flattened batch (ops_matmul.cpp).
// gradcheck in f64, and the f32 gradient against the f64 one (the f32 path runs the packed kernels).
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/all.h"

#include <cmath>

using namespace lab;

TEST_CASE("matmul backward with a batch against a shared weight") {
  Generator g(31);
  // x [2, 3, 4] @ W^T with W [5, 4] (a transposed, non-contiguous leaf), and a non-contiguous x.
  Tensor x = randn({2, 3, 4}, g, DType::f64), w = randn({5, 4}, g, DType::f64);
  ag::set_requires_grad(x);
  ag::set_requires_grad(w);
  ag::GradcheckResult r = ag::gradcheck("matmul x W^T", [](const std::vector<Tensor>& in) { return ag::matmul(in[0], ag::transpose(in[1], 0, 1)); }, {x, w});
  INFO(r.message);
  CHECK(r.ok);
  Tensor xt = randn({3, 2, 4}, g, DType::f64).transpose(0, 1);  // [2, 3, 4], batch stride 4
  ag::set_requires_grad(xt);
  Tensor w2 = randn({4, 5}, g, DType::f64);
  ag::set_requires_grad(w2);
  r = ag::gradcheck("matmul x W, x a view", [](const std::vector<Tensor>& in) { return ag::matmul(in[0], in[1]); }, {xt, w2});
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("f32 matmul gradients agree with f64 on a Linear-sized batch") {
  Generator g(32);
  Tensor x64 = randn({4, 33, 20}, g, DType::f64), w64 = randn({24, 20}, g, DType::f64), gy = randn({4, 33, 24}, g, DType::f64);
  std::vector<std::vector<double>> grads[2];
  for (int pass = 0; pass < 2; pass++) {
    const DType dt = pass == 0 ? DType::f64 : DType::f32;
    Tensor x = x64.to(dt), w = w64.to(dt);
    ag::set_requires_grad(x);
    ag::set_requires_grad(w);
    Tensor y = ag::matmul(x, ag::transpose(w, 0, 1));
    ag::backward(y, gy.to(dt));
    for (const Tensor& t : {x, w}) grads[pass].push_back(ag::grad(t).to(DType::f64).to_vector<double>());
  }
  // f32 sums of up to 132 products of N(0,1) values: within 1e-5 * K * max|a||b| ~ 1e-2 of f64 (see test_matmul.cpp).
  for (size_t i = 0; i < 2; i++) {
    REQUIRE(grads[0][i].size() == grads[1][i].size());
    double worst = 0;
    for (size_t j = 0; j < grads[0][i].size(); j++) worst = std::max(worst, std::fabs(grads[0][i][j] - grads[1][i][j]));
    INFO("input " << i);
    CHECK(worst < 1e-3);
  }
}

TEST_CASE("a frozen matmul operand gets no gradient and the other one the same as before") {
  // LoRA's base layers: W frozen, x requiring grad. backward must skip dW (one matmul saved per frozen
  // layer) and give dx exactly as when W requires grad too.
  Generator g(33);
  Tensor x0 = randn({3, 7, 6}, g), w0 = randn({5, 6}, g), gy = randn({3, 7, 5}, g);
  Tensor dx_both, dx_frozen;
  uint64_t allocations[2] = {0, 0};  // made by backward: a skipped dW is a product never allocated
  for (int frozen = 0; frozen < 2; frozen++) {
    Tensor x = x0.clone(), w = w0.clone();
    ag::set_requires_grad(x);
    if (!frozen) ag::set_requires_grad(w);
    Tensor y = ag::matmul(x, ag::transpose(w, 0, 1));
    const uint64_t before = memory_stats(Device::cpu()).allocations;
    ag::backward(y, gy);
    allocations[frozen] = memory_stats(Device::cpu()).allocations - before;
    (frozen ? dx_frozen : dx_both) = ag::grad(x);
    CHECK(ag::grad(w).defined() == !frozen);
  }
  REQUIRE(dx_both.defined());
  REQUIRE(dx_frozen.defined());
  CHECK(dx_both.to_vector<float>() == dx_frozen.to_vector<float>());
  INFO("allocations in backward: W trained " << allocations[0] << ", W frozen " << allocations[1]);
  // W trained: dW's product and its copy back into W's [out, in] layout (the transpose's backward);
  // W frozen: neither. Computing dW and dropping it (the old behaviour) made the difference 1.
  CHECK(allocations[0] - allocations[1] == 2);
  // And the other way round: x constant (a fixed input), W trained.
  Tensor x = x0.clone(), w = w0.clone();
  ag::set_requires_grad(w);
  ag::backward(ag::matmul(x, ag::transpose(w, 0, 1)), gy);
  CHECK_FALSE(ag::grad(x).defined());
  CHECK(ag::grad(w).defined());
}
