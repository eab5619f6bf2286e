// masked_fill (the CPU reference for cuda/masking.cu, and the device dispatch) and cat.
//
// masked_fill walks x, the mask (stride 0 where it is broadcast) and the output together with
// for_each_strided, as tensor/elementwise.cpp does for binary ops. cat needs no kernel: it copies each
// input into a narrow() view of the output, and copy_ already works for every dtype and device.
// Not here: their autograd nodes (autograd/ops_nn.cpp, autograd/ops_shape.cpp).
#include "tensor/masking.h"

#include "tensor/cuda_bridge.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/masking.h"
#include "cuda/runtime.h"
#endif

namespace lab {

namespace {

// Can `from` be broadcast to `to` (aligned from the right, each size equal or 1)?
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); i++)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

// out[i] = mask[i] ? value : x[i], every operand read through its (broadcast) strides.
template <typename T> void masked_fill_cpu(const Tensor& out, const Tensor& x, const Tensor& mask, double value) {
  T* o = out.data<T>();
  const T* px = x.data<T>();
  const uint8_t* pm = mask.data<uint8_t>();
  const T v = T(value);
  const Strides mask_strides = broadcast_strides(mask.shape(), mask.strides(), x.shape());
  for_each_strided<3>(x.shape(), {out.strides().data(), x.strides().data(), mask_strides.data()},
                      [&](int64_t io, int64_t ix, int64_t im) { o[io] = pm[im] != 0 ? v : px[ix]; });
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  LAB_CHECK(x.defined() && mask.defined(), "masked_fill: undefined tensor");
  LAB_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "masked_fill: x must be f32 or f64, got {} (HINT: cast with .to(DType::f32))",
            dtype_name(x.dtype()));
  LAB_CHECK(mask.dtype() == DType::u8, "masked_fill: the mask must be u8 (nonzero = fill), got {} (HINT: .to(DType::u8))",
            dtype_name(mask.dtype()));
  LAB_CHECK(mask.device() == x.device(), "masked_fill: x on {} but the mask on {} (HINT: .to(Device) one of them)", x.device().str(),
            mask.device().str());
  LAB_CHECK(broadcasts_to(mask.shape(), x.shape()), "masked_fill: a mask of shape {} does not broadcast to x's shape {}",
            shape_str(mask.shape()), shape_str(x.shape()));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    if (x.dtype() == DType::f32)
      cuda::masked_fill_f32(out.data<float>(), x.data<float>(), to_layout(x), mask.data<uint8_t>(), to_layout(mask, x.shape()),
                            float(value));
    else
      cuda::masked_fill_f64(out.data<double>(), x.data<double>(), to_layout(x), mask.data<uint8_t>(), to_layout(mask, x.shape()),
                            value);
    return out;
#endif
  }
  if (x.dtype() == DType::f32) masked_fill_cpu<float>(out, x, mask, value);
  else masked_fill_cpu<double>(out, x, mask, value);
  return out;
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  LAB_CHECK(!tensors.empty(), "cat: needs at least one tensor");
  const Tensor& first = tensors[0];
  for (size_t i = 0; i < tensors.size(); i++) LAB_CHECK(tensors[i].defined(), "cat: tensor {} is undefined", i);
  LAB_CHECK(first.dim() >= 1, "cat: cannot concatenate scalars (shape []) (HINT: unsqueeze(0) them first)");
  dim = normalize_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); i++) {
    const Tensor& t = tensors[i];
    LAB_CHECK(t.dtype() == first.dtype(), "cat: tensor {} is {} but tensor 0 is {} (HINT: .to(DType::{}))", i, dtype_name(t.dtype()),
              dtype_name(first.dtype()), dtype_name(first.dtype()));
    LAB_CHECK(t.device() == first.device(), "cat: tensor {} is on {} but tensor 0 is on {} (HINT: .to(Device) one of them)", i,
              t.device().str(), first.device().str());
    bool match = t.dim() == first.dim();
    for (int64_t d = 0; match && d < first.dim(); d++) match = d == dim || t.size(d) == first.size(d);
    LAB_CHECK(match, "cat: tensor {} has shape {} and tensor 0 has shape {}: they must match in every dim but dim {}", i,
              shape_str(t.shape()), shape_str(first.shape()), dim);
    shape[dim] += t.size(dim);
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  // out = [t_0 | t_1 | ...] along dim: each input copied into the slice [offset, offset + size) of out.
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    if (t.size(dim) > 0) out.narrow(dim, offset, t.size(dim)).copy_(t);
    offset += t.size(dim);
  }
  return out;
}

}  // namespace lab
