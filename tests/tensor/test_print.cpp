// fmt::format("{}", tensor): values, shape, dtype, device.
#include <catch2/catch.hpp>

#include "tensor/all.h"

using namespace lab;

TEST_CASE("a small tensor prints every value") {
  Tensor t = from_vector<float>({1, -2.5f, 3, 4}, {2, 2});
  std::string s = fmt::format("{}", t);
  CHECK(s == "tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]], shape=[2, 2], dtype=f32, device=cpu)");
  CHECK(fmt::format("{}", from_vector<int64_t>({3, 10})) == "tensor([ 3, 10], shape=[2], dtype=i64, device=cpu)");
  CHECK(fmt::format("{}", scalar(2)) == "tensor(2.0000, shape=[], dtype=f32, device=cpu)");
  CHECK(fmt::format("{}", Tensor()) == "tensor(undefined)");
}

TEST_CASE("a large tensor is abbreviated") {
  std::string s = fmt::format("{}", arange(0, 5000, 1, DType::i64));
  CHECK_THAT(s, Catch::Contains("[   0,    1,    2, ..., 4997, 4998, 4999]"));
  std::string m = fmt::format("{}", zeros({100, 100}));
  CHECK_THAT(m, Catch::Contains("...,"));
  CHECK(m.size() < 1000);
}

TEST_CASE("tiny and huge values switch to scientific notation") {
  CHECK_THAT(fmt::format("{}", from_vector<float>({1e-6f, 1})), Catch::Contains("e-06"));
  CHECK_THAT(fmt::format("{}", from_vector<float>({NAN, 1})), Catch::Contains("nan"));
}
