// Views share storage, and their strides are what PyTorch's would be.
#include <catch2/catch.hpp>

#include "tensor/all.h"

using namespace lab;

TEST_CASE("a contiguous tensor has row-major strides") {
  Tensor t = zeros({2, 3, 4});
  CHECK(t.strides() == Strides{12, 4, 1});
  CHECK(t.is_contiguous());
  CHECK(t.numel() == 24);
  CHECK(t.nbytes() == 96);
}

TEST_CASE("transpose swaps strides and shares storage") {
  Tensor t = arange(0, 6, 1, DType::f32).view({2, 3});
  Tensor tt = t.transpose(0, 1);
  CHECK(tt.shape() == Shape{3, 2});
  CHECK(tt.strides() == Strides{1, 3});
  CHECK_FALSE(tt.is_contiguous());
  CHECK(tt.shares_storage_with(t));
  CHECK(tt.at<float>({2, 1}) == 5.0f);  // t[1][2]
  tt.at<float>({0, 1}) = 42.0f;         // writes t[1][0]
  CHECK(t.at<float>({1, 0}) == 42.0f);
}

TEST_CASE("permute, and contiguous copies only when needed") {
  Tensor t = arange(0, 24, 1, DType::f32).view({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Strides{1, 12, 4});
  CHECK(p.at<float>({3, 1, 2}) == t.at<float>({1, 2, 3}));
  Tensor c = p.contiguous();
  CHECK(c.is_contiguous());
  CHECK_FALSE(c.shares_storage_with(t));
  CHECK(c.at<float>({3, 1, 2}) == 23.0f);
  CHECK(t.contiguous().shares_storage_with(t));
  CHECK_THROWS_WITH(t.permute({0, 0, 1}), Catch::Contains("appears twice"));
}

TEST_CASE("slice and narrow: offset and stride, shared storage, Python's clamping") {
  Tensor t = arange(0, 20, 1, DType::f32).view({4, 5});
  Tensor s = t.slice(1, 1, 5, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{4, 2});
  CHECK(s.strides() == Strides{5, 2});
  CHECK(s.offset() == 1);
  CHECK(s.at<float>({2, 1}) == 13.0f);
  s.fill_(-1);
  CHECK(t.at<float>({0, 1}) == -1.0f);
  CHECK(t.at<float>({0, 2}) == 2.0f);
  CHECK(t.slice(0, -2, 100).shape() == Shape{2, 5});  // clamped like t[-2:100]
  CHECK(t.slice(0, 3, 1).shape() == Shape{0, 5});     // empty, not an error
  Tensor n = t.narrow(0, 1, 2);
  CHECK(n.offset() == 5);
  CHECK(n.shape() == Shape{2, 5});
  CHECK_THROWS_WITH(t.narrow(0, 3, 2), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(t.slice(1, 0, 5, 0), Catch::Contains("step must be positive"));
  Tensor row = t.select(0, -1);
  CHECK(row.shape() == Shape{5});
  CHECK(row.at<float>({4}) == 19.0f);
}

TEST_CASE("view follows the layout, reshape copies when it must") {
  Tensor t = arange(0, 24, 1, DType::f32).view({2, 3, 4});
  CHECK(t.view({6, -1}).shape() == Shape{6, 4});
  CHECK(t.view({6, -1}).shares_storage_with(t));
  CHECK(t.view({2, 1, 12, 1}).strides()[2] == 1);
  CHECK_THROWS_WITH(t.view({5, -1}), Catch::Contains("cannot view"));
  CHECK_THROWS_WITH(t.view({-1, -1}), Catch::Contains("only one dim may be -1"));

  Tensor tt = t.transpose(1, 2);  // [2, 4, 3], not contiguous
  CHECK_THROWS_WITH(tt.view({24}), Catch::Contains("HINT"));
  Tensor r = tt.reshape({24});
  CHECK_FALSE(r.shares_storage_with(t));
  CHECK(r.at<float>({1}) == 4.0f);  // tt[0][0][1] = t[0][1][0]
  // Splitting a transposed dim that is itself contiguous is still a view.
  Tensor v = tt.view({2, 2, 2, 3});
  CHECK(v.shares_storage_with(t));
  CHECK(v.at<float>({1, 1, 0, 2}) == t.at<float>({1, 2, 2}));
}

TEST_CASE("unsqueeze, squeeze and expand") {
  Tensor t = arange(0, 3, 1, DType::f32);
  Tensor u = t.unsqueeze(0);
  CHECK(u.shape() == Shape{1, 3});
  CHECK(t.unsqueeze(-1).shape() == Shape{3, 1});
  CHECK(u.squeeze(0).shape() == Shape{3});
  CHECK_THROWS_WITH(u.squeeze(1), Catch::Contains("not 1"));
  Tensor e = t.unsqueeze(1).expand({3, 4});
  CHECK(e.strides() == Strides{1, 0});
  CHECK(e.at<float>({2, 3}) == 2.0f);
  CHECK(e.contiguous().is_contiguous());
  CHECK_THROWS_WITH(t.expand({2, 4}), Catch::Contains("cannot"));
}

TEST_CASE("dims are checked and negative dims count from the end") {
  Tensor t = zeros({2, 3});
  CHECK(t.size(-1) == 3);
  CHECK_THROWS_WITH(t.size(2), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(t.transpose(0, -3), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(t.at<float>({2, 0}), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(t.data<double>(), Catch::Contains("f32"));
  CHECK_THROWS_WITH(zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}), Catch::Contains("at most 8 dims"));
  CHECK_THROWS_WITH(zeros({2, -1}), Catch::Contains("negative"));
}
