// GPU masked_fill: a thread per output element in a grid-stride loop, the operands found through
// their Layouts (stride 0 where the mask is broadcast), as in cuda/elementwise.cu.
// CPU reference: tensor/masking.cpp. Not here: cat, which is copies into views (cuda/copy.cu).
#include "cuda/launch.cuh"
#include "cuda/masking.h"

namespace lab::cuda {

namespace {

// out[i] = mask[mask_layout(i)] ? value : x[x_layout(i)]; `contiguous` skips the index arithmetic.
template <typename T>
__global__ void masked_fill_kernel(T* out, const T* x, Layout x_layout, bool x_contiguous, const uint8_t* mask, Layout mask_layout,
                                   bool mask_contiguous, int64_t n, T value) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const bool masked = mask[mask_contiguous ? i : offset_of(i, mask_layout)] != 0;
    out[i] = masked ? value : x[x_contiguous ? i : offset_of(i, x_layout)];
  }
}

template <typename T>
void masked_fill(T* out, const T* x, const Layout& x_layout, const uint8_t* mask, const Layout& mask_layout, T value) {
  const int64_t n = numel(x_layout);
  if (n == 0) return;
  masked_fill_kernel<T><<<grid_for(n), kThreads>>>(out, x, x_layout, is_contiguous(x_layout), mask, mask_layout,
                                                   is_contiguous(mask_layout), n, value);
  CUDA_CHECK_LAUNCH(kernel_name<T>("masked_fill"), {"n", n}, {"ndim", x_layout.ndim});
}

}  // namespace

void masked_fill_f32(float* out, const float* x, const Layout& x_layout, const uint8_t* mask, const Layout& mask_layout, float value) {
  masked_fill(out, x, x_layout, mask, mask_layout, value);
}
void masked_fill_f64(double* out, const double* x, const Layout& x_layout, const uint8_t* mask, const Layout& mask_layout,
                     double value) {
  masked_fill(out, x, x_layout, mask, mask_layout, value);
}

}  // namespace lab::cuda
