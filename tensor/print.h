// Printing a tensor: fmt::print("{}", t) shows the values, then shape, dtype and device:
//
//   tensor([[ 0.1234, -1.5000],
//           [ 2.0000,  3.2500]], shape=[2, 2], dtype=f32, device=cpu)
//
// Past 1000 elements each dim shows its first and last 3 entries with "..." between, as PyTorch.
#pragma once

#include "tensor/tensor.h"

#include <fmt/format.h>

#include <string>

namespace lab {

std::string to_string(const Tensor& t);

}  // namespace lab

template <> struct fmt::formatter<lab::Tensor> : fmt::formatter<std::string_view> {
  template <typename Ctx> auto format(const lab::Tensor& t, Ctx& ctx) const {
    std::string s = lab::to_string(t);
    return fmt::formatter<std::string_view>::format(s, ctx);
  }
};
