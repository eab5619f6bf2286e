// Differentiable views and concatenation: forward rearranges (or shares) the elements, backward
// undoes the same rearrangement on the gradient.
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "tensor/factory.h"
#include "tensor/masking.h"

namespace lab::ag {

using Grads = std::vector<Tensor>;

// y = x viewed as `shape`:  dx = g viewed as x's shape
Tensor reshape(const Tensor& x, const Shape& shape) {
  return record("reshape", x.reshape(shape), {x}, [s = x.shape()](const Tensor& g) { return Grads{g.reshape(s)}; });
}

Tensor view(const Tensor& x, const Shape& shape) {
  return record("view", x.view(shape), {x}, [s = x.shape()](const Tensor& g) { return Grads{g.reshape(s)}; });
}

// y = x with dims d0, d1 swapped:  dx = g with them swapped back
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  return record("transpose", x.transpose(d0, d1), {x}, [d0, d1](const Tensor& g) { return Grads{g.transpose(d0, d1)}; });
}

// y = x.permute(p):  dx = g.permute(p^-1)
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor y = x.permute(dims);
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); i++) inverse[size_t(normalize_dim(dims[i], x.dim(), "permute"))] = int64_t(i);
  return record("permute", y, {x}, [inverse](const Tensor& g) { return Grads{g.permute(inverse)}; });
}

// y = x[start:end:step] along dim:  dx = zeros with g written into the same slice
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return record("slice", x.slice(dim, start, end, step), {x}, [x = detach(x), dim, start, end, step](const Tensor& g) {
    Tensor dx = zeros(x.shape(), g.dtype(), g.device());
    dx.slice(dim, start, end, step).copy_(g);
    return Grads{dx};
  });
}

// y = [x_0, x_1, ...] along dim:  dx_i = the slice of g where x_i went
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = lab::cat(xs, dim);
  int64_t d = normalize_dim(dim, y.dim(), "cat");
  std::vector<int64_t> sizes;
  for (const Tensor& x : xs) sizes.push_back(x.size(d));
  return record("cat", y, xs, [d, sizes](const Tensor& g) {
    Grads grads;
    int64_t at = 0;
    for (int64_t n : sizes) {
      grads.push_back(g.narrow(d, at, n));
      at += n;
    }
    return grads;
  });
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  LAB_CHECK(size > 0, "split: size must be positive, got {}", size);
  int64_t d = normalize_dim(dim, x.dim(), "split");
  std::vector<Tensor> pieces;
  for (int64_t at = 0; at < x.size(d); at += size) pieces.push_back(slice(x, d, at, at + size));
  return pieces;
}

}  // namespace lab::ag
