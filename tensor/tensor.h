// Tensor: a view (shape, strides, offset, dtype) onto refcounted Storage.
//
//   shape   [B, T, C]      PyTorch's dimension order everywhere: row-major, the last dim contiguous
//   strides [T*C, C, 1]    in elements; a view (transpose, slice, expand) changes only these
//   offset  elements from the start of the storage to element [0, 0, ...]
//
// Views share storage: writing through a slice writes the original. `contiguous()` copies only when
// the layout is not already row-major packed. Ops live in their own headers (elementwise.h,
// reduce.h, matmul.h, factory.h); include tensor/all.h for everything.
//
// tensor/ knows nothing of gradients: a Tensor only carries an opaque pointer that autograd/ fills.
#pragma once

#include "tensor/dtype.h"
#include "tensor/device.h"
#include "tensor/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

#include <memory>
#include <vector>

namespace lab {

struct AutogradMeta;  // defined in autograd/

class Tensor {
public:
  Tensor() = default;  // an undefined tensor: defined() is false and most calls are an error
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset, DType dtype);
  // A new, uninitialized, contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());

  // --- what it is
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int64_t dim() const { return int64_t(shape_.size()); }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t offset() const { return offset_; }
  int64_t numel() const { return lab::numel(shape_); }
  DType dtype() const { return dtype_; }
  size_t element_size() const { return dtype_size(dtype_); }
  size_t nbytes() const { return size_t(numel()) * element_size(); }  // of the elements this view covers
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool shares_storage_with(const Tensor& o) const { return storage_ == o.storage_; }

  // Pointer to element [0, 0, ...]. data<T>() checks that T is the tensor's dtype.
  void* raw_data() const;
  template <typename T> T* data() const {
    LAB_CHECK(dtype_of<T>() == dtype_, "data<{}>() called on a {} tensor", dtype_name(dtype_of<T>()), dtype_name(dtype_));
    return static_cast<T*>(raw_data());
  }
  // One element, by index, on the CPU: t.at<float>({1, 2}).
  template <typename T> T& at(const std::vector<int64_t>& index) const { return data<T>()[element_offset(index)]; }
  // The value of a one-element tensor, converted to T (copied from the GPU if needed).
  template <typename T> T item() const;
  // All elements in row-major order, converted to T, on the host.
  template <typename T> std::vector<T> to_vector() const;

  // --- views: share storage, change only shape/strides/offset
  Tensor view(const Shape& shape) const;      // one dim may be -1; needs a layout that allows it (else an error naming both shapes)
  Tensor reshape(const Shape& shape) const;   // a view when possible, else a contiguous copy
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;                           // transpose of a 2-D tensor
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;  // Python's [start:end:step], clamped like Python
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;                // strict: out of range is an error
  Tensor select(int64_t dim, int64_t index) const;                                // removes `dim`
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;          // only a dim of size 1
  Tensor expand(const Shape& shape) const;    // broadcast to `shape` with stride 0
  Tensor flatten() const { return reshape({numel()}); }

  // --- copies (see copy.cpp)
  Tensor contiguous() const;                  // itself if already contiguous
  Tensor clone() const;                       // always a new storage
  Tensor to(Device device) const;             // itself if already there
  Tensor to(DType dtype) const;               // itself if already that dtype
  void copy_(const Tensor& src) const;        // write src (broadcast to this shape, any dtype/device) into this view
  void fill_(double value) const;

  // --- autograd's slot (opaque to tensor/)
  const std::shared_ptr<AutogradMeta>& autograd_meta() const { return autograd_meta_; }
  void set_autograd_meta(std::shared_ptr<AutogradMeta> meta) { autograd_meta_ = std::move(meta); }

private:
  int64_t element_offset(const std::vector<int64_t>& index) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Strides strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::f32;
  std::shared_ptr<AutogradMeta> autograd_meta_;
};

template <typename T> std::vector<T> Tensor::to_vector() const {
  Tensor c = to(Device::cpu()).to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

template <typename T> T Tensor::item() const {
  LAB_CHECK(numel() == 1, "item() needs a tensor with one element, got shape {}", shape_str(shape_));
  return to_vector<T>()[0];
}

}  // namespace lab
