// Differentiable sum and mean: the gradient of a reduction is the output's gradient spread back
// over the dims that were reduced.
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "tensor/elementwise.h"
#include "tensor/reduce.h"

#include <algorithm>

namespace lab::ag {

using Grads = std::vector<Tensor>;

// g has the reduced shape; put size-1 dims back where they were reduced, then broadcast to `shape`.
static Tensor expand_back(const Tensor& g, const Shape& shape, std::vector<int64_t> dims, bool keepdim) {
  Tensor out = g;
  if (!keepdim) {
    std::sort(dims.begin(), dims.end());
    for (int64_t d : dims) out = out.unsqueeze(d);
  }
  return out.expand(shape).contiguous();
}

static std::vector<int64_t> resolve_dims(const Tensor& x, const std::vector<int64_t>& dims) {
  std::vector<int64_t> out;
  if (x.dim() == 0) return out;
  if (dims.empty())
    for (int64_t d = 0; d < x.dim(); d++) out.push_back(d);
  for (int64_t d : dims) out.push_back(normalize_dim(d, x.dim(), "sum"));
  return out;
}

// y = sum_{dims} x:  dx = g broadcast back over dims
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return record("sum", lab::sum(x, dims, keepdim), {x}, [shape = x.shape(), ds = resolve_dims(x, dims), keepdim](const Tensor& g) {
    return Grads{expand_back(g, shape, ds, keepdim)};
  });
}

// y = (1/n) sum_{dims} x:  dx = g / n broadcast back over dims
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  std::vector<int64_t> ds = resolve_dims(x, dims);
  int64_t n = 1;
  for (int64_t d : ds) n *= x.size(d);
  return record("mean", lab::mean(x, dims, keepdim), {x}, [shape = x.shape(), ds, keepdim, n](const Tensor& g) {
    return Grads{lab::mul(expand_back(g, shape, ds, keepdim), 1.0 / double(n))};
  });
}

}  // namespace lab::ag
