// Tensor metadata and views: everything here changes shape/strides/offset and never copies,
// except reshape() when no view can express the new shape.
#include "tensor/tensor.h"

#include <algorithm>

namespace lab {

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset), dtype_(dtype) {
  LAB_ASSERT(storage_ && shape_.size() == strides_.size());
  LAB_CHECK(int(shape_.size()) <= kMaxDims, "tensors have at most {} dims, got shape {}", kMaxDims, shape_str(shape_));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  require_device(device);
  for (int64_t s : shape) LAB_CHECK(s >= 0, "negative size in shape {}", shape_str(shape));
  LAB_CHECK(int(shape.size()) <= kMaxDims, "tensors have at most {} dims, got shape {}", kMaxDims, shape_str(shape));
  // Guard the byte count against overflow before asking the allocator for it.
  size_t bytes = dtype_size(dtype);
  for (int64_t s : shape) {
    LAB_CHECK(s == 0 || bytes <= (size_t(1) << 62) / size_t(s), "shape {} of {} is too large to allocate", shape_str(shape),
              dtype_name(dtype));
    bytes *= size_t(s);
  }
  return Tensor(std::make_shared<Storage>(device, bytes), shape, contiguous_strides(shape), 0, dtype);
}

int64_t Tensor::size(int64_t d) const { return shape_[normalize_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides_[normalize_dim(d, dim(), "stride")]; }

Device Tensor::device() const {
  LAB_CHECK(defined(), "device() of an undefined tensor");
  return storage_->device();
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; i--) {
    if (shape_[i] != 1 && strides_[i] != expected) return false;  // size-1 dims may have any stride
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  LAB_CHECK(defined(), "data of an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_ * int64_t(element_size());
}

int64_t Tensor::element_offset(const std::vector<int64_t>& index) const {
  LAB_CHECK(device().is_cpu(), "at(): the tensor is on {}; copy it with .to(Device::cpu()) first", device().str());
  LAB_CHECK(int64_t(index.size()) == dim(), "at(): {} indices for a tensor of shape {}", index.size(), shape_str(shape_));
  int64_t off = 0;
  for (int64_t d = 0; d < dim(); d++) {
    LAB_CHECK(index[d] >= 0 && index[d] < shape_[d], "at(): index {} out of range for dim {} of size {}", index[d], d, shape_[d]);
    off += index[d] * strides_[d];
  }
  return off;
}

// --- views

// Fill in a -1 and check that the element count matches.
static Shape infer_shape(const Shape& requested, int64_t count, const Shape& from) {
  Shape shape = requested;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < shape.size(); i++) {
    if (shape[i] == -1) {
      LAB_CHECK(infer_at < 0, "view/reshape {}: only one dim may be -1", shape_str(requested));
      infer_at = int64_t(i);
    } else {
      LAB_CHECK(shape[i] >= 0, "view/reshape {}: negative size", shape_str(requested));
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    LAB_CHECK(known != 0 && count % known == 0, "cannot view shape {} ({} elements) as {}", shape_str(from), count,
              shape_str(requested));
    shape[infer_at] = count / known;
  }
  LAB_CHECK(numel(shape) == count, "cannot view shape {} ({} elements) as {} ({} elements)", shape_str(from), count,
            shape_str(shape), numel(shape));
  return shape;
}

// Strides for `to` that read the same elements as (from, from_strides), or false when the memory
// layout cannot express it (e.g. flattening a transposed matrix). PyTorch's computeStride idea:
// split the old dims into chunks that are contiguous among themselves, and let each chunk be
// re-cut into new dims that multiply to the same count.
static bool view_strides(const Shape& from, const Strides& from_strides, const Shape& to, Strides* out) {
  if (from.empty() || numel(from) == 0 || numel(from) == 1) {
    *out = contiguous_strides(to);
    return true;
  }
  out->assign(to.size(), 0);
  int64_t to_d = int64_t(to.size()) - 1;
  int64_t chunk_base_stride = from_strides.back();
  int64_t chunk_elems = 1, view_elems = 1;
  for (int64_t d = int64_t(from.size()) - 1; d >= 0; d--) {
    chunk_elems *= from[d];
    bool chunk_ends = d == 0 || (from[d - 1] != 1 && from_strides[d - 1] != chunk_elems * chunk_base_stride);
    if (!chunk_ends) continue;
    while (to_d >= 0 && (view_elems < chunk_elems || to[to_d] == 1)) {
      (*out)[to_d] = view_elems * chunk_base_stride;
      view_elems *= to[to_d];
      to_d--;
    }
    if (view_elems != chunk_elems) return false;
    if (d > 0) {
      chunk_base_stride = from_strides[d - 1];
      chunk_elems = 1;
      view_elems = 1;
    }
  }
  return to_d == -1;
}

Tensor Tensor::view(const Shape& requested) const {
  Shape shape = infer_shape(requested, numel(), shape_);
  Strides strides;
  LAB_CHECK(view_strides(shape_, strides_, shape, &strides),
            "cannot view shape {} with strides {} as {}: the elements are not laid out for it (HINT: use reshape(), "
            "which copies, or call contiguous() first)",
            shape_str(shape_), shape_str(strides_), shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = strides;
  t.autograd_meta_ = nullptr;
  return t;
}

Tensor Tensor::reshape(const Shape& requested) const {
  Shape shape = infer_shape(requested, numel(), shape_);
  Strides strides;
  if (view_strides(shape_, strides_, shape, &strides)) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  d0 = normalize_dim(d0, dim(), "transpose");
  d1 = normalize_dim(d1, dim(), "transpose");
  Tensor t = *this;
  t.autograd_meta_ = nullptr;
  if (dim() == 0) return t;
  std::swap(t.shape_[d0], t.shape_[d1]);
  std::swap(t.strides_[d0], t.strides_[d1]);
  return t;
}

Tensor Tensor::t() const {
  LAB_CHECK(dim() == 2, "t() needs a 2-D tensor, got shape {} (HINT: use transpose(d0, d1))", shape_str(shape_));
  return transpose(0, 1);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  LAB_CHECK(int64_t(dims.size()) == dim(), "permute: {} dims given for a tensor of shape {}", dims.size(), shape_str(shape_));
  Tensor t = *this;
  t.autograd_meta_ = nullptr;
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); i++) {
    int64_t d = normalize_dim(dims[i], dim(), "permute");
    LAB_CHECK(!seen[d], "permute: dim {} appears twice in ({})", d, fmt::join(dims, ", "));
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
  }
  return t;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = normalize_dim(d, dim(), "slice");
  LAB_CHECK(dim() > 0, "slice: cannot slice a scalar");
  LAB_CHECK(step > 0, "slice: step must be positive, got {}", step);
  int64_t n = shape_[d];
  // Python's rules: negative indices count from the end, then clamp to [0, n].
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Tensor t = *this;
  t.autograd_meta_ = nullptr;
  t.offset_ += start * strides_[d];
  t.shape_[d] = (end - start + step - 1) / step;
  t.strides_[d] *= step;
  return t;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = normalize_dim(d, dim(), "narrow");
  LAB_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d],
            "narrow: [{}, {}) is out of range for dim {} of size {}", start, start + length, d, shape_[d]);
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = normalize_dim(d, dim(), "select");
  LAB_CHECK(dim() > 0, "select: cannot index a scalar");
  LAB_CHECK(index >= -shape_[d] && index < shape_[d], "select: index {} is out of range for dim {} of size {}", index, d, shape_[d]);
  if (index < 0) index += shape_[d];
  Tensor t = *this;
  t.autograd_meta_ = nullptr;
  t.offset_ += index * strides_[d];
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  LAB_CHECK(d >= -(dim() + 1) && d <= dim(), "unsqueeze: dim {} is out of range for a tensor with {} dims", d, dim());
  if (d < 0) d += dim() + 1;
  LAB_CHECK(dim() < kMaxDims, "unsqueeze: tensors have at most {} dims", kMaxDims);
  Tensor t = *this;
  t.autograd_meta_ = nullptr;
  int64_t stride = d < dim() ? strides_[d] * shape_[d] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, stride);
  return t;
}

Tensor Tensor::squeeze(int64_t d) const {
  d = normalize_dim(d, dim(), "squeeze");
  if (dim() == 0) return *this;
  LAB_CHECK(shape_[d] == 1, "squeeze: dim {} has size {}, not 1 (shape {})", d, shape_[d], shape_str(shape_));
  Tensor t = *this;
  t.autograd_meta_ = nullptr;
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::expand(const Shape& shape) const {
  LAB_CHECK(shape.size() >= shape_.size(), "expand: cannot expand shape {} to fewer dims {}", shape_str(shape_), shape_str(shape));
  LAB_CHECK(broadcast_shapes(shape_, shape) == shape, "expand: cannot expand shape {} to {}", shape_str(shape_), shape_str(shape));
  Tensor t = *this;
  t.autograd_meta_ = nullptr;
  t.strides_ = broadcast_strides(shape_, strides_, shape);
  t.shape_ = shape;
  return t;
}

}  // namespace lab
