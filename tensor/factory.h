// Making tensors: filled, ranged, random, or from a std::vector. Everything is made on the CPU and
// copied when another device is asked for; the random ones draw from a Generator in row-major
// order, so the same seed gives the same tensor on every device and platform.
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

#include <vector>

namespace lab {

Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu());  // shape []

// [start, start+step, ...) up to but not including end, as torch.arange.
Tensor arange(double start, double end, double step = 1, DType dtype = DType::f32, Device device = Device::cpu());
inline Tensor arange(int64_t n, DType dtype = DType::i64) { return arange(0, double(n), 1, dtype); }

Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());   // U[0, 1)
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());  // N(0, 1)

// Copies `values` into a new tensor of `shape` (numel must match) with the dtype of T.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu()) {
  LAB_CHECK(int64_t(values.size()) == numel(shape), "from_vector: {} values for shape {} ({} elements)", values.size(),
            shape_str(shape), numel(shape));
  Tensor t = Tensor::empty(shape, dtype_of<T>(), Device::cpu());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t.to(device);
}
template <typename T> Tensor from_vector(const std::vector<T>& values) { return from_vector(values, {int64_t(values.size())}); }

}  // namespace lab
