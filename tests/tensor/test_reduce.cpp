// Reductions over every dim, against loops written out by hand.
#include <catch2/catch.hpp>

#include "tensor/all.h"

#include <cmath>

using namespace lab;

// The reference: sum/max over one dim of a [2,3,4] tensor by explicit loops.
static double ref_sum(const Tensor& t, int dim, int64_t i, int64_t j) {
  double s = 0;
  for (int64_t k = 0; k < t.size(dim); k++) {
    std::vector<int64_t> idx = {i, j};
    idx.insert(idx.begin() + dim, k);
    s += t.at<float>(idx);
  }
  return s;
}

TEST_CASE("sum and mean over every dim, with and without keepdim") {
  Generator g(3);
  Tensor t = randn({2, 3, 4}, g);
  for (int dim = 0; dim < 3; dim++) {
    Tensor s = sum(t, {dim});
    Tensor sk = sum(t, {dim}, true);
    Shape expect = t.shape();
    expect.erase(expect.begin() + dim);
    REQUIRE(s.shape() == expect);
    Shape expect_k = t.shape();
    expect_k[dim] = 1;
    REQUIRE(sk.shape() == expect_k);
    for (int64_t i = 0; i < expect[0]; i++)
      for (int64_t j = 0; j < expect[1]; j++) {
        CHECK(s.at<float>({i, j}) == Approx(ref_sum(t, dim, i, j)).epsilon(1e-6));
        CHECK(mean(t, {dim}).at<float>({i, j}) == Approx(ref_sum(t, dim, i, j) / double(t.size(dim))).epsilon(1e-6));
      }
    // Negative dims name the same dim.
    CHECK(sum(t, {dim - 3}).to_vector<float>() == s.to_vector<float>());
  }
  double all = 0;
  for (float v : t.to_vector<float>()) all += v;
  CHECK(sum(t).shape() == Shape{});
  CHECK(sum(t).item<float>() == Approx(all).epsilon(1e-6));
  CHECK(sum(t, {0, 2}).shape() == Shape{3});
  CHECK(sum(t, {2, 0}, true).shape() == Shape{1, 3, 1});
  CHECK(sum(t, {0, 1, 2}).item<float>() == Approx(all).epsilon(1e-6));
  CHECK(mean(t).item<float>() == Approx(all / 24).epsilon(1e-6));
  CHECK_THROWS_WITH(sum(t, {1, -2}), Catch::Contains("twice"));
  CHECK_THROWS_WITH(sum(t, {3}), Catch::Contains("out of range"));
}

TEST_CASE("reductions on non-contiguous views and edge shapes") {
  Tensor t = arange(0, 12, 1, DType::f32).view({3, 4});
  CHECK(sum(t.t(), {1}).to_vector<float>() == std::vector<float>{12, 15, 18, 21});
  CHECK(sum(t.slice(1, 0, 4, 2), {0}).to_vector<float>() == std::vector<float>{12, 18});
  CHECK(sum(zeros({0, 3}), {0}).to_vector<float>() == std::vector<float>{0, 0, 0});
  CHECK(std::isnan(mean(zeros({0})).item<float>()));
  CHECK(sum(scalar(2.5)).item<float>() == 2.5f);
  // Integer sums are i64.
  Tensor i = from_vector<int32_t>({2000000000, 2000000000});
  Tensor si = sum(i);
  CHECK(si.dtype() == DType::i64);
  CHECK(si.item<int64_t>() == 4000000000LL);
  CHECK_THROWS_WITH(mean(i), Catch::Contains("floating-point"));
}

TEST_CASE("max and argmax over every dim") {
  Generator g(4);
  Tensor t = randn({3, 4, 5}, g);
  for (int dim = 0; dim < 3; dim++) {
    Tensor m = max(t, dim);
    Tensor a = argmax(t, dim);
    CHECK(a.dtype() == DType::i64);
    Shape s = t.shape();
    s.erase(s.begin() + dim);
    REQUIRE(m.shape() == s);
    for (int64_t i = 0; i < s[0]; i++)
      for (int64_t j = 0; j < s[1]; j++) {
        float best = -INFINITY;
        int64_t best_k = -1;
        for (int64_t k = 0; k < t.size(dim); k++) {
          std::vector<int64_t> idx = {i, j};
          idx.insert(idx.begin() + dim, k);
          if (t.at<float>(idx) > best) best = t.at<float>(idx), best_k = k;
        }
        CHECK(m.at<float>({i, j}) == best);
        CHECK(a.at<int64_t>({i, j}) == best_k);
      }
  }
  CHECK(max(t, 1, true).shape() == Shape{3, 1, 5});
  float all = -INFINITY;
  for (float v : t.to_vector<float>()) all = std::max(all, v);
  CHECK(max(t).item<float>() == all);
}

TEST_CASE("max: ties take the first index, NaN wins, empty is an error") {
  Tensor t = from_vector<float>({1, 3, 3, 2});
  CHECK(argmax(t, 0).item<int64_t>() == 1);
  Tensor n = from_vector<float>({1, NAN, 5, NAN});
  CHECK(std::isnan(max(n).item<float>()));
  CHECK(argmax(n, 0).item<int64_t>() == 1);
  CHECK_THROWS_WITH(max(zeros({0})), Catch::Contains("empty"));
  CHECK_THROWS_WITH(max(zeros({2, 0}), 1), Catch::Contains("size 0"));
  CHECK(max(scalar(4)).item<float>() == 4);
}
