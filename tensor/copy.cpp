// Copies between views, dtypes and devices: contiguous(), clone(), to(), copy_(), fill_().
//
// The CPU kernel is one strided loop that converts each element with convert_value (convert.h);
// it is the reference for cuda/copy.cu. Between devices, data crosses as one contiguous memcpy.
#include "tensor/convert.h"
#include "tensor/cuda_bridge.h"
#include "tensor/strided_loop.h"
#include "tensor/tensor.h"

#if LAB_HAS_CUDA
#include "cuda/copy.h"
#include "cuda/runtime.h"
#endif

namespace lab {

// dst[i] = convert(src[i]) on the CPU, src already expanded to dst's shape.
static void copy_cpu(const Tensor& dst, const Tensor& src) {
  LAB_DISPATCH_DTYPE(dst.dtype(), D, {
    LAB_DISPATCH_DTYPE(src.dtype(), S, {
      D* out = static_cast<D*>(dst.raw_data());
      const S* in = static_cast<const S*>(src.raw_data());
      if (dst.is_contiguous() && src.is_contiguous()) {
        int64_t n = dst.numel();
parallel_for(n, [&](int64_t i) { out[i] = convert_value<D>(in[i]); });
      } else {
        for_each_strided<2>(dst.shape(), {dst.strides().data(), src.strides().data()},
                            [&](int64_t o, int64_t s) { out[o] = convert_value<D>(in[s]); });
      }
    });
  });
}

void Tensor::copy_(const Tensor& src) const {
  LAB_CHECK(defined() && src.defined(), "copy_: undefined tensor");
  LAB_CHECK(broadcast_shapes(src.shape(), shape()) == shape(), "copy_: cannot copy shape {} into shape {}",
            shape_str(src.shape()), shape_str(shape()));
  Tensor from = src.expand(shape());
  if (numel() == 0) return;
  if (device().is_cpu() && from.device().is_cpu()) return copy_cpu(*this, from);
#if LAB_HAS_CUDA
  if (device().is_cuda() && from.device().is_cuda()) {
    LAB_CHECK(device() == from.device(), "copy_: from {} to {}: copies between two GPUs go through the CPU", from.device().str(),
              device().str());
    cuda::set_device(device().index);
    cuda::copy_cast(raw_data(), to_elem_type(dtype()), to_layout(*this), from.raw_data(), to_elem_type(from.dtype()),
                    to_layout(from));
    return;
  }
  if (device().is_cuda()) {
    // CPU -> GPU: pack on the CPU in the destination dtype, one memcpy, then place it into this view.
    Tensor packed = from.to(dtype()).contiguous();
    Tensor staged = is_contiguous() ? *this : Tensor::empty(shape(), dtype(), device());
    cuda::set_device(device().index);
    cuda::memcpy(staged.raw_data(), packed.raw_data(), packed.nbytes(), cuda::CopyKind::host_to_device);
    if (!staged.shares_storage_with(*this)) copy_(staged);
    return;
  }
  // GPU -> CPU: pack on the GPU, one memcpy, then convert and place on the CPU.
  Tensor packed = from.contiguous();
  Tensor host = Tensor::empty(shape(), packed.dtype(), Device::cpu());
  cuda::set_device(from.device().index);
  cuda::memcpy(host.raw_data(), packed.raw_data(), packed.nbytes(), cuda::CopyKind::device_to_host);
  copy_cpu(*this, host);
#else
  LAB_FAIL("copy_: {}", cuda_unavailable_reason());
#endif
}

void Tensor::fill_(double value) const {
  if (numel() == 0) return;
  if (device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(device().index);
    cuda::fill(raw_data(), to_elem_type(dtype()), to_layout(*this), value);
    return;
#endif
  }
  LAB_DISPATCH_DTYPE(dtype(), T, {
    const T v = convert_value<T>(value);
    T* out = static_cast<T*>(raw_data());
    if (is_contiguous()) {
      std::fill(out, out + numel(), v);
    } else {
      for_each_strided<1>(shape(), {strides().data()}, [&](int64_t o) { out[o] = v; });
    }
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), d);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType d) const {
  if (d == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), d, device());
  out.copy_(*this);
  return out;
}

}  // namespace lab
