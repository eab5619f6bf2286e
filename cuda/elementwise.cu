// GPU elementwise kernels: unary and binary ops over strided, broadcast inputs, into a contiguous
// output. One thread per output element in a grid-stride loop; the math is apply_unary /
// apply_binary of cuda/elementwise_ops.h, the same functions the CPU loops call.
//
// Napkin math: c = a + b on f32 moves 12 bytes and does 1 FLOP per element, so it is bound by memory
// bandwidth (H200: ~4.8 TB/s -> ~400 G elements/s at best); bench/bench_cuda.cpp measures it.
// Not here: casts (cuda/copy.cu), reductions (cuda/reduce.cu).
#include "cuda/elementwise.h"
#include "cuda/launch.cuh"

namespace lab::cuda {

namespace {

// out[i] = op(x[x_layout(i)], param); `contiguous` skips the index arithmetic when x is packed.
template <typename T>
__global__ void unary_kernel(UnaryOp op, T* out, const T* x, Layout x_layout, int64_t n, bool contiguous, T param) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    out[i] = apply_unary<T>(op, x[contiguous ? i : offset_of(i, x_layout)], param);
}

// out[i] = op(a[a_layout(i)], b[b_layout(i)]); a broadcast dim has stride 0 in its layout.
template <typename T>
__global__ void binary_kernel(BinaryOp op, T* out, const T* a, Layout a_layout, bool a_contiguous, const T* b, Layout b_layout,
                              bool b_contiguous, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const T va = a[a_contiguous ? i : offset_of(i, a_layout)];
    const T vb = b[b_contiguous ? i : offset_of(i, b_layout)];
    out[i] = apply_binary<T>(op, va, vb);
  }
}

template <typename T> void unary(UnaryOp op, T* out, const T* x, const Layout& x_layout, T param) {
  const int64_t n = numel(x_layout);
  if (n == 0) return;
  unary_kernel<T><<<grid_for(n), kThreads>>>(op, out, x, x_layout, n, is_contiguous(x_layout), param);
  CUDA_CHECK_LAUNCH(kernel_name<T>("unary"), {"op", int64_t(op)}, {"n", n}, {"ndim", x_layout.ndim});
}

template <typename T> void binary(BinaryOp op, T* out, const T* a, const Layout& a_layout, const T* b, const Layout& b_layout) {
  const int64_t n = numel(a_layout);
  if (n == 0) return;
  binary_kernel<T><<<grid_for(n), kThreads>>>(op, out, a, a_layout, is_contiguous(a_layout), b, b_layout, is_contiguous(b_layout), n);
  CUDA_CHECK_LAUNCH(kernel_name<T>("binary"), {"op", int64_t(op)}, {"n", n}, {"ndim", a_layout.ndim});
}

}  // namespace

void unary_f32(UnaryOp op, float* out, const float* x, const Layout& x_layout, float param) { unary(op, out, x, x_layout, param); }
void unary_f64(UnaryOp op, double* out, const double* x, const Layout& x_layout, double param) { unary(op, out, x, x_layout, param); }

void binary_f32(BinaryOp op, float* out, const float* a, const Layout& a_layout, const float* b, const Layout& b_layout) {
  binary(op, out, a, a_layout, b, b_layout);
}
void binary_f64(BinaryOp op, double* out, const double* a, const Layout& a_layout, const double* b, const Layout& b_layout) {
  binary(op, out, a, a_layout, b, b_layout);
}

}  // namespace lab::cuda
