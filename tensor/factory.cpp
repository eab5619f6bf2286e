// Factories of factory.h.
#include "tensor/factory.h"

#include <cmath>

namespace lab {

Tensor empty(const Shape& shape, DType dtype, Device device) { return Tensor::empty(shape, dtype, device); }

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  LAB_CHECK(step != 0 && std::isfinite(start) && std::isfinite(end) && std::isfinite(step),
            "arange({}, {}, {}): bounds must be finite and step non-zero", start, end, step);
  int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
  Tensor t = Tensor::empty({n}, DType::f64, Device::cpu());
  double* p = t.data<double>();
  for (int64_t i = 0; i < n; i++) p[i] = start + double(i) * step;
  return t.to(dtype).to(device);
}

// Draw numel values in row-major order on the CPU (so every device sees the same numbers).
template <typename Draw> static Tensor random_tensor(const Shape& shape, DType dtype, Device device, Draw draw) {
  LAB_CHECK(is_floating(dtype), "random tensors are floating point, got dtype {}", dtype_name(dtype));
  Tensor t = Tensor::empty(shape, DType::f32, Device::cpu());
  float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; i++) p[i] = draw();
  return t.to(dtype).to(device);
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return random_tensor(shape, dtype, device, [&] { return gen.uniform(); });
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return random_tensor(shape, dtype, device, [&] { return gen.normal(); });
}

}  // namespace lab
