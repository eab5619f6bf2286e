// Reductions: every one is done as a reduction over the middle dim of a contiguous
// [outer, n, inner] tensor, one dim at a time. That one kernel shape is easy to read, and it is
// the same shape the GPU kernels in cuda/reduce.cu take.
#include "tensor/reduce.h"

#include "tensor/cuda_bridge.h"
#include "tensor/elementwise.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/reduce.h"
#include "cuda/runtime.h"
#endif

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace lab {

namespace {

struct Split {
  int64_t outer = 1, n = 1, inner = 1;
};

Split split_at(const Shape& shape, int64_t dim) {
  Split s;
  for (int64_t i = 0; i < int64_t(shape.size()); i++) {
    if (i < dim) s.outer *= shape[i];
    else if (i == dim) s.n = shape[i];
    else s.inner *= shape[i];
  }
  return s;
}

// [.., n, ..] -> [.., 1, ..] or [.., ..]
Shape reduced_shape(const Shape& shape, int64_t dim, bool keepdim) {
  Shape out = shape;
  if (keepdim) out[dim] = 1;
  else out.erase(out.begin() + dim);
  return out;
}

template <typename T, typename Acc> void sum_cpu(T* out, const T* x, Split s) {
  if (s.inner == 1) {
#pragma omp parallel for if (s.outer * s.n >= kParallelGrain)
    for (int64_t o = 0; o < s.outer; o++) {
      Acc acc = 0;
      const T* p = x + o * s.n;
      for (int64_t k = 0; k < s.n; k++) acc += Acc(load_as_compute(p[k]));
      out[o] = store_from_compute<T>(compute_t<T>(acc));
    }
    return;
  }
  // Summing down columns (a bias gradient: [B*T, C] -> [C]): walk each row of `inner` values once,
  // adding it into a chunk of accumulators. Unit stride, and every output still adds k = 0..n-1 in
  // order, so the result is the same as a column-by-column loop's.
  constexpr int64_t kChunk = 256;
  const int64_t chunks = (s.inner + kChunk - 1) / kChunk;
#pragma omp parallel for collapse(2) if (s.outer * s.inner * s.n >= kParallelGrain)
  for (int64_t o = 0; o < s.outer; o++)
    for (int64_t c = 0; c < chunks; c++) {
      const int64_t i0 = c * kChunk, w = std::min(kChunk, s.inner - i0);
      Acc acc[kChunk] = {};
      for (int64_t k = 0; k < s.n; k++) {
        const T* p = x + (o * s.n + k) * s.inner + i0;
        for (int64_t j = 0; j < w; j++) acc[j] += Acc(load_as_compute(p[j]));
      }
      for (int64_t j = 0; j < w; j++) out[o * s.inner + i0 + j] = store_from_compute<T>(compute_t<T>(acc[j]));
    }
}

template <typename T> bool greater_or_nan(T a, T b) { return a > b || (a != a && b == b); }

template <typename T> void max_cpu(T* out, int64_t* index, const T* x, Split s) {
#pragma omp parallel for collapse(2) if (s.outer * s.inner * s.n >= kParallelGrain)
  for (int64_t o = 0; o < s.outer; o++)
    for (int64_t i = 0; i < s.inner; i++) {
      const T* p = x + o * s.n * s.inner + i;
      auto best = load_as_compute(p[0]);
      int64_t best_k = 0;
      for (int64_t k = 1; k < s.n; k++) {
        auto v = load_as_compute(p[k * s.inner]);
        if (greater_or_nan(v, best)) best = v, best_k = k;
      }
      if (out) out[o * s.inner + i] = store_from_compute<T>(best);
      if (index) index[o * s.inner + i] = best_k;
    }
}

#if LAB_HAS_CUDA
// The GPU's two-pass reduction of few long rows needs device scratch (cuda/reduce.h); it comes from
// the allocator like any tensor, so it counts in the peak and obeys the budget. Undefined when none.
Tensor cuda_reduce_scratch(const Tensor& x, const Split& s, bool with_index) {
  const size_t bytes = cuda::reduce_scratch_bytes(s.outer, s.n, s.inner, dtype_size(x.dtype()), with_index);
  return bytes > 0 ? Tensor::empty({int64_t(bytes)}, DType::u8, x.device()) : Tensor();
}
void* scratch_ptr(const Tensor& scratch) { return scratch.defined() ? scratch.raw_data() : nullptr; }
#endif

// Sum over one dim; always keepdim (the caller squeezes).
Tensor sum_one_dim(const Tensor& x, int64_t dim) {
  Split s = split_at(x.shape(), dim);
  Tensor in = x.contiguous();
  DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::i64;
  Tensor out = Tensor::empty(reduced_shape(x.shape(), dim, true), out_dtype, x.device());
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    Tensor scratch = cuda_reduce_scratch(x, s, false);
    void* sp = scratch_ptr(scratch);
    if (x.dtype() == DType::f32) cuda::sum_f32(out.data<float>(), in.data<float>(), s.outer, s.n, s.inner, sp);
    else if (x.dtype() == DType::f64) cuda::sum_f64(out.data<double>(), in.data<double>(), s.outer, s.n, s.inner, sp);
    else LAB_CUDA_DTYPE_ERROR("sum", x.dtype());
    return out;
#endif
  }
  LAB_DISPATCH_DTYPE(x.dtype(), T, {
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      sum_cpu<T, double>(out.data<T>(), static_cast<const T*>(in.raw_data()), s);
    } else {
      // Integers: sum in int64 into an i64 tensor.
      const T* p = static_cast<const T*>(in.raw_data());
      int64_t* o = out.data<int64_t>();
      for (int64_t a = 0; a < s.outer; a++)
        for (int64_t i = 0; i < s.inner; i++) {
          int64_t acc = 0;
          for (int64_t k = 0; k < s.n; k++) acc += int64_t(p[(a * s.n + k) * s.inner + i]);
          o[a * s.inner + i] = acc;
        }
    }
  });
  return out;
}

std::vector<int64_t> normalized_dims(const Tensor& x, const std::vector<int64_t>& dims, const char* what) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < x.dim(); d++) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    int64_t n = normalize_dim(d, x.dim(), what);
    LAB_CHECK(std::find(out.begin(), out.end(), n) == out.end(), "{}: dim {} appears twice in ({})", what, n, fmt::join(dims, ", "));
    out.push_back(n);
  }
  return out;
}

Tensor max_impl(const Tensor& input, int64_t dim, bool keepdim, bool want_values) {
  const char* what = want_values ? "max" : "argmax";
  LAB_CHECK(input.defined(), "{}: undefined tensor", what);
  // A scalar reduces like a one-element vector, and keeps its shape [] (PyTorch does the same).
  if (input.dim() == 0) {
    normalize_dim(dim, 0, what);
    return max_impl(input.reshape({1}), 0, false, want_values);
  }
  const Tensor& x = input;
  dim = normalize_dim(dim, x.dim(), what);
  LAB_CHECK(x.size(dim) > 0, "{}: dim {} has size 0 (shape {}), there is no maximum", what, dim, shape_str(x.shape()));
  Split s = split_at(x.shape(), dim);
  Tensor in = x.contiguous();
  Shape shape = reduced_shape(x.shape(), dim, keepdim);
  Tensor values = want_values ? Tensor::empty(shape, x.dtype(), x.device()) : Tensor();
  Tensor index = want_values ? Tensor() : Tensor::empty(shape, DType::i64, x.device());
  if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(x.device().index);
    int64_t* ip = want_values ? nullptr : index.data<int64_t>();
    Tensor scratch = cuda_reduce_scratch(x, s, !want_values);
    void* sp = scratch_ptr(scratch);
    if (x.dtype() == DType::f32) cuda::max_f32(want_values ? values.data<float>() : nullptr, ip, in.data<float>(), s.outer, s.n, s.inner, sp);
    else if (x.dtype() == DType::f64) cuda::max_f64(want_values ? values.data<double>() : nullptr, ip, in.data<double>(), s.outer, s.n, s.inner, sp);
    else LAB_CUDA_DTYPE_ERROR(what, x.dtype());
    return want_values ? values : index;
#endif
  }
  LAB_DISPATCH_DTYPE(x.dtype(), T, {
    max_cpu<T>(want_values ? values.data<T>() : nullptr, want_values ? nullptr : index.data<int64_t>(),
               static_cast<const T*>(in.raw_data()), s);
  });
  return want_values ? values : index;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  LAB_CHECK(x.defined(), "sum: undefined tensor");
  std::vector<int64_t> ds = normalized_dims(x, dims, "sum");
  if (x.dim() == 0) return sum_one_dim(x.reshape({1}), 0).reshape({});  // a scalar sums to itself, as a new tensor
  Tensor out = x;
  // Largest dim first, so the indices of the dims still to do stay valid.
  std::sort(ds.rbegin(), ds.rend());
  for (int64_t d : ds) out = sum_one_dim(out, d);
  if (!keepdim)
    for (int64_t d : ds) out = out.squeeze(d);  // descending order: each squeeze leaves the smaller indices alone
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  LAB_CHECK(x.defined() && is_floating(x.dtype()), "mean: needs a floating-point tensor, got {} (HINT: .to(DType::f32))",
            x.defined() ? dtype_name(x.dtype()) : "an undefined tensor");
  int64_t count = 1;
  for (int64_t d : normalized_dims(x, dims, "mean")) count *= x.dim() == 0 ? 1 : x.size(d);
  Tensor s = sum(x, dims, keepdim);
  // The mean of nothing is NaN, as in PyTorch.
  return mul(s, count == 0 ? std::nan("") : 1.0 / double(count));
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) { return max_impl(x, dim, keepdim, true); }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return max_impl(x, dim, keepdim, false); }

Tensor max(const Tensor& x) {
  LAB_CHECK(x.defined(), "max: undefined tensor");
  LAB_CHECK(x.numel() > 0, "max: the tensor is empty (shape {}), there is no maximum", shape_str(x.shape()));
  return max_impl(x.reshape({x.numel()}), 0, false, true);
}

}  // namespace lab
