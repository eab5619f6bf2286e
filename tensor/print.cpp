// to_string for tensors: see print.h.
#include "tensor/print.h"

#include <cmath>

namespace lab {

namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Printer {
  const Tensor& t;  // on the CPU, f64 (floats) or i64 (integers)
  bool floating;
  bool summarize;
  int width = 1;
  int precision = 4;
  bool scientific = false;
  std::string out;

  std::string number(int64_t offset) const {
    if (!floating) return fmt::format("{:>{}}", t.data<int64_t>()[offset], width);
    double v = t.data<double>()[offset];
    if (scientific) return fmt::format("{:>{}.{}e}", v, width, precision);
    return fmt::format("{:>{}.{}f}", v, width, precision);
  }

  // Pick one width (and fixed or scientific) from the values that will be shown.
  void measure() {
    double largest = 0, smallest = INFINITY;
    bool negative = false;
    int64_t n = t.numel();
    for (int64_t i = 0; i < n; i++) {
      if (!floating) {
        width = std::max<int>(width, int(fmt::format("{}", t.data<int64_t>()[i]).size()));
        continue;
      }
      negative = negative || std::signbit(t.data<double>()[i]);
      double a = std::fabs(t.data<double>()[i]);
      if (!std::isfinite(a)) continue;
      largest = std::max(largest, a);
      if (a > 0) smallest = std::min(smallest, a);
    }
    if (!floating) return;
    scientific = largest >= 1e8 || (smallest < 1e-4 && largest > 0);
    // Widest number: a sign if any is negative, integer digits (fixed) or "d.dddde+XX" (scientific), "nan"/"-inf".
    int digits = largest >= 1 ? int(std::floor(std::log10(largest))) + 1 : 1;
    width = int(negative) + (scientific ? 1 + 1 + precision + 4 : digits + 1 + precision);
  }

  void print(int64_t dim, int64_t offset, int indent) {
    if (dim == t.dim()) {
      out += number(offset);
      return;
    }
    int64_t n = t.size(dim);
    out += "[";
    for (int64_t i = 0; i < n; i++) {
      if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
        out += dim + 1 == t.dim() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
        i = n - kEdgeItems;
      }
      print(dim + 1, offset + i * t.stride(dim), indent + 1);
      if (i + 1 < n) {
        if (dim + 1 == t.dim()) out += ", ";
        else out.append(",").append(size_t(t.dim() - dim - 1), '\n').append(size_t(indent + 1), ' ');
      }
    }
    out += "]";
  }
};

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  bool floating = is_floating(t.dtype());
  Tensor host = t.to(Device::cpu()).to(floating ? DType::f64 : DType::i64).contiguous();
  Printer p{host, floating, t.numel() > kSummarizeAbove, 1, 4, false, {}};
  p.measure();
  const std::string prefix = "tensor(";
  p.print(0, 0, int(prefix.size()));
  return fmt::format("{}{}, shape={}, dtype={}, device={})", prefix, p.out, shape_str(t.shape()), dtype_name(t.dtype()),
                     t.device().str());
}

}  // namespace lab
