// Elementwise ops and NumPy's broadcasting rules.
#include <catch2/catch.hpp>

#include "tensor/all.h"

#include <cmath>

using namespace lab;

TEST_CASE("broadcast_shapes follows NumPy") {
  CHECK(broadcast_shapes({8, 1, 6, 1}, {7, 1, 5}) == Shape{8, 7, 6, 5});
  CHECK(broadcast_shapes({5, 4}, {1}) == Shape{5, 4});
  CHECK(broadcast_shapes({5, 4}, {4}) == Shape{5, 4});
  CHECK(broadcast_shapes({15, 3, 5}, {15, 1, 5}) == Shape{15, 3, 5});
  CHECK(broadcast_shapes({15, 3, 5}, {3, 1}) == Shape{15, 3, 5});
  CHECK(broadcast_shapes({}, {2, 3}) == Shape{2, 3});
  CHECK(broadcast_shapes({0, 3}, {1, 3}) == Shape{0, 3});
  // The NumPy docs' incompatible examples.
  CHECK_THROWS_WITH(broadcast_shapes({3}, {4}), Catch::Contains("cannot be broadcast") && Catch::Contains("[3]") && Catch::Contains("[4]"));
  CHECK_THROWS_WITH(broadcast_shapes({2, 1}, {8, 4, 3}), Catch::Contains("[2, 1]") && Catch::Contains("[8, 4, 3]"));
  CHECK_THROWS(broadcast_shapes({0}, {2}));
}

TEST_CASE("binary ops broadcast a column against a row") {
  Tensor col = from_vector<float>({1, 2, 3}, {3, 1});
  Tensor row = from_vector<float>({10, 20}, {1, 2});
  Tensor s = col + row;
  REQUIRE(s.shape() == Shape{3, 2});
  CHECK(s.to_vector<float>() == std::vector<float>{11, 21, 12, 22, 13, 23});
  CHECK((row - col).to_vector<float>() == std::vector<float>{9, 19, 8, 18, 7, 17});
  CHECK((col * row).to_vector<float>() == std::vector<float>{10, 20, 20, 40, 30, 60});
  CHECK((row / col).at<float>({2, 1}) == Approx(20.0f / 3.0f));
  CHECK_THROWS_WITH(col + from_vector<float>({1, 2}, {2}).view({2, 1}), Catch::Contains("cannot be broadcast"));
}

TEST_CASE("binary ops on non-contiguous inputs match a contiguous copy") {
  Generator g(1);
  Tensor a = randn({4, 5, 6}, g);
  Tensor b = randn({6, 5}, g);
  Tensor at = a.transpose(1, 2);  // [4, 6, 5]
  Tensor bs = b.slice(0, 0, 6, 1);
  Tensor got = at * bs;
  Tensor want = at.contiguous() * bs.contiguous();
  CHECK(got.to_vector<float>() == want.to_vector<float>());
  // And by hand for one element.
  CHECK(got.at<float>({3, 4, 2}) == a.at<float>({3, 2, 4}) * b.at<float>({4, 2}));
}

TEST_CASE("scalars broadcast and scalar ops") {
  Tensor x = from_vector<float>({1, 4, 9}, {3});
  CHECK((x + scalar(1)).to_vector<float>() == std::vector<float>{2, 5, 10});
  CHECK((x * 2.0).to_vector<float>() == std::vector<float>{2, 8, 18});
  CHECK((x - 1.0).to_vector<float>() == std::vector<float>{0, 3, 8});
  CHECK((x / 2.0).to_vector<float>() == std::vector<float>{0.5f, 2, 4.5f});
  CHECK(sqrt(x).to_vector<float>() == std::vector<float>{1, 2, 3});
  CHECK(pow(x, 0.5).to_vector<float>() == std::vector<float>{1, 2, 3});
}

TEST_CASE("unary ops match the C library") {
  std::vector<float> v = {-2.5f, -1.0f, -0.1f, 0.0f, 0.3f, 1.0f, 3.0f};
  Tensor x = from_vector(v);
  auto check = [&](const Tensor& y, auto f) {
    std::vector<float> got = y.to_vector<float>();
    for (size_t i = 0; i < v.size(); i++) CHECK(got[i] == Approx(f(v[i])).margin(1e-7));
  };
  check(neg(x), [](float a) { return -a; });
  check(abs(x), [](float a) { return std::fabs(a); });
  check(exp(x), [](float a) { return std::exp(a); });
  check(tanh(x), [](float a) { return std::tanh(a); });
  check(relu(x), [](float a) { return a > 0 ? a : 0.0f; });
  check(sigmoid(x), [](float a) { return 1.0f / (1.0f + std::exp(-a)); });
  // GELU, tanh form, against values from PyTorch: F.gelu(x, approximate="tanh").
  Tensor g = gelu(from_vector<float>({-1.0f, 0.5f, 2.0f}));
  CHECK(g.at<float>({0}) == Approx(-0.15880801f).epsilon(1e-6));
  CHECK(g.at<float>({1}) == Approx(0.34571401f).epsilon(1e-6));
  CHECK(g.at<float>({2}) == Approx(1.95459769f).epsilon(1e-6));
  CHECK(std::isnan(log(from_vector<float>({-1.0f})).item<float>()));
}

TEST_CASE("maximum and minimum propagate NaN") {
  Tensor a = from_vector<float>({1, NAN, 3});
  Tensor b = from_vector<float>({2, 0, NAN});
  std::vector<float> mx = maximum(a, b).to_vector<float>();
  CHECK(mx[0] == 2);
  CHECK(std::isnan(mx[1]));
  CHECK(std::isnan(mx[2]));
  CHECK(minimum(a, b).at<float>({0}) == 1);
}

TEST_CASE("dtype rules: no silent promotion, integers get integer-safe ops") {
  Tensor f = ones({2});
  Tensor d = ones({2}, DType::f64);
  CHECK_THROWS_WITH(f + d, Catch::Contains("dtypes differ") && Catch::Contains("HINT"));
  Tensor i = from_vector<int64_t>({5, -7});
  CHECK((i + i).to_vector<int64_t>() == std::vector<int64_t>{10, -14});
  CHECK((i * 3.0).to_vector<int64_t>() == std::vector<int64_t>{15, -21});
  CHECK(abs(i).to_vector<int64_t>() == std::vector<int64_t>{5, 7});
  CHECK_THROWS_WITH(i / i, Catch::Contains("floating-point"));
  CHECK_THROWS_WITH(exp(i), Catch::Contains("floating-point"));
  // bf16 computes in float and rounds the result back.
  Tensor h = from_vector<float>({1.0f, 2.0f}).to(DType::bf16);
  CHECK((h + h).to_vector<float>() == std::vector<float>{2.0f, 4.0f});
}

TEST_CASE("large inputs take the parallel paths and agree with the serial ones") {
  Generator g(7);
  Tensor a = randn({300, 257}, g);
  Tensor b = randn({257}, g);
  Tensor c = a + b;  // broadcast, strided path, parallel
  Tensor a_t = a.t().contiguous().t();
  Tensor c2 = a_t + b;  // non-contiguous a
  CHECK(c.to_vector<float>() == c2.to_vector<float>());
  CHECK(c.at<float>({299, 256}) == a.at<float>({299, 256}) + b.at<float>({256}));
}
