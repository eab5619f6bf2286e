// How far ours is from a PyTorch fixture tensor, relative to the fixture's largest element:
//   ratio = max |ours - torch| / max |torch|
// Shared by the whole-model fixture tests (test_torch_fixture.cpp, test_gpt_fixture.cpp).
#pragma once

#include "tensor/tensor.h"

#include <algorithm>
#include <cmath>
#include <vector>

struct RelativeDiff {
  double diff = 0;   // max |ours - torch|
  double scale = 0;  // max |torch|
  double ratio = 0;  // diff / scale
};

inline RelativeDiff relative_diff(const lab::Tensor& ours, const lab::Tensor& torch) {
  std::vector<float> a = ours.to_vector<float>(), b = torch.to_vector<float>();
  RelativeDiff d;
  for (size_t i = 0; i < a.size() && i < b.size(); i++) {
    d.diff = std::max(d.diff, std::fabs(double(a[i]) - double(b[i])));
    d.scale = std::max(d.scale, std::fabs(double(b[i])));
  }
  d.ratio = d.diff / std::max(d.scale, 1e-30);
  return d;
}
