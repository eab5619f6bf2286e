// The fused AdamW kernel: the whole torch.optim.AdamW update of one element in one thread, in
// PyTorch's order of operations (see optim/adamw.cpp, the CPU reference, for the formula and why).
// Every operation is rounded as on the CPU (cuda/rounded.cuh), so the two agree bit for bit.
//
// Napkin math: f32 reads p, g, m, v (16 B) and writes p, m, v (12 B) per element, ~12 FLOPs: memory
// bound; 100M parameters move 2.8 GB, about 0.6 ms at the H200's ~4.8 TB/s.
// Not here: the coefficients (host side, optim/adamw.cpp), paging of m and v (optim/).
#include "cuda/adamw.h"
#include "cuda/launch.cuh"
#include "cuda/rounded.cuh"

namespace lab::cuda {

namespace {

template <typename T>
__global__ void adamw_kernel(T* p, const T* g, T* m, T* v, int64_t n, AdamWCoefficients c) {
  using namespace rounded;
  const T decay = T(c.decay), w = T(c.beta1_weight), beta2 = T(c.beta2), one_minus_beta2 = T(c.one_minus_beta2);
  const T bc2_sqrt = T(c.bias_correction2_sqrt), eps = T(c.eps), neg_step_size = T(c.neg_step_size);
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const T gi = g[i];
    T mi = m[i], vi = v[i];
    // p *= 1 - lr wd
    const T pi = mul(p[i], decay);
    // m = lerp(m, g, w) = m + w (g - m), written as g - (g - m)(1 - w) when w >= 0.5 (torch's lerp)
    mi = w < T(0.5) ? add(mi, mul(w, sub(gi, mi))) : sub(gi, mul(sub(gi, mi), sub(T(1), w)));
    // v = v beta2 + ((1 - beta2) g) g
    vi = add(mul(vi, beta2), mul(mul(one_minus_beta2, gi), gi));
    // p += (-lr / bc1) * (m / (sqrt(v) / sqrt(bc2) + eps))
    const T denom = add(div(sqrt(vi), bc2_sqrt), eps);
    p[i] = add(pi, mul(neg_step_size, div(mi, denom)));
    m[i] = mi;
    v[i] = vi;
  }
}

template <typename T> void adamw_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamWCoefficients& c) {
  if (n == 0) return;
  adamw_kernel<T><<<grid_for(n), kThreads>>>(p, g, m, v, n, c);
  CUDA_CHECK_LAUNCH(kernel_name<T>("adamw_step"), {"n", n});
}

}  // namespace

void adamw_step_f32(float* p, const float* g, float* m, float* v, int64_t n, const AdamWCoefficients& c) { adamw_step(p, g, m, v, n, c); }
void adamw_step_f64(double* p, const double* g, double* m, double* v, int64_t n, const AdamWCoefficients& c) {
  adamw_step(p, g, m, v, n, c);
}

}  // namespace lab::cuda
