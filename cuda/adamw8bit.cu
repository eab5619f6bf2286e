// The fused 8-bit AdamW kernel, v1: one thread block per state block (256 elements, one thread
// each). Each thread dequantizes its m and v, applies AdamW in PyTorch's order, the block reduces
// max |m| and max v (exact in any order, NaN left out, so the CPU and GPU agree), and each thread requantizes with
// bitsandbytes' midpoint search over the code book in shared memory. Every operation is rounded as
// on the CPU (cuda/rounded.cuh): equal to optim/adamw8bit.cpp's adamw8bit_step_ref bit for bit.
//
// Napkin math: per element reads p, g (8 B) and two codes (2 B), writes p and two codes (6 B):
// 16 B instead of 28 B for f32 AdamW, plus 8 search steps of shared memory loads a state. Both are
// memory bound on paper; the searches make this one closer to latency bound.
// Not here: the f32 rule for small parameters (cuda/adamw.cu), paging (optim/).
#include "cuda/adamw8bit.h"
#include "cuda/block_reduce.cuh"
#include "cuda/dynamic_code.cuh"
#include "cuda/launch.cuh"
#include "cuda/rounded.cuh"

namespace lab::cuda {

namespace {

__global__ void adamw8bit_kernel(float* p, const float* g, uint8_t* code1, uint8_t* code2, float* absmax1, float* absmax2, int64_t n,
                                 int64_t block_size, AdamWCoefficients c, DynamicMaps8bit maps) {
  using namespace rounded;
  __shared__ float map_m[256], map_v[256];
  __shared__ float scratch[32];
  for (int k = threadIdx.x; k < 256; k += blockDim.x) map_m[k] = maps.m[k], map_v[k] = maps.v[k];
  __syncthreads();
  const float decay = float(c.decay), w = float(c.beta1_weight), beta2 = float(c.beta2), one_minus_beta2 = float(c.one_minus_beta2);
  const float bc2_sqrt = float(c.bias_correction2_sqrt), eps = float(c.eps), neg_step_size = float(c.neg_step_size);
  const int64_t blocks = (n + block_size - 1) / block_size;
  for (int64_t b = blockIdx.x; b < blocks; b += gridDim.x) {  // every thread of the block takes the same trips (block_max syncs)
    const int64_t i = b * block_size + threadIdx.x;
    const bool active = threadIdx.x < block_size && i < n;
    float mi = 0, vi = 0;
    if (active) {
      const float gi = g[i];
      // dequantize: m = map_m[c1] absmax1, v = map_v[c2] absmax2
      const float m_old = mul(map_m[code1[i]], absmax1[b]), v_old = mul(map_v[code2[i]], absmax2[b]);
      // p *= 1 - lr wd;  m = lerp(m, g, w);  v = v beta2 + ((1 - beta2) g) g
      const float pi = mul(p[i], decay);
      mi = w < 0.5f ? add(m_old, mul(w, sub(gi, m_old))) : sub(gi, mul(sub(gi, m_old), sub(1.0f, w)));
      vi = add(mul(v_old, beta2), mul(mul(one_minus_beta2, gi), gi));
      // p += (-lr / bc1) * (m / (sqrt(v) / sqrt(bc2) + eps))
      const float denom = add(div(sqrt(vi), bc2_sqrt), eps);
      p[i] = add(pi, mul(neg_step_size, div(mi, denom)));
    }
    // the block's new absmax (inactive threads give 0, the CPU's starting value). A NaN counts as 0,
    // as in the CPU's std::max: block_max's butterfly would otherwise drop every lane it meets NaN
    // beside, and the block's whole state would be lost instead of one element's (found by a CPU
    // emulation of this kernel, 2026-11-29).
    const float max_m = block_max(mi != mi ? 0.0f : fabsf(mi), scratch);
    const float max_v = block_max(vi != vi ? 0.0f : fabsf(vi), scratch);
    if (threadIdx.x == 0) absmax1[b] = max_m, absmax2[b] = max_v;
    if (active) {
      // requantize; a negative m that rounds to the code of 0 takes the smallest negative code (bitsandbytes)
      uint8_t c1 = dynamic_code(map_m, max_m > 0 ? div(mi, max_m) : 0.0f);
      if (max_m > 0 && signbit(map_m[c1]) != signbit(mi)) c1 = mi > 0 ? uint8_t(c1 + 1) : uint8_t(c1 - 1);
      code1[i] = c1;
      code2[i] = dynamic_code(map_v, max_v > 0 ? div(vi, max_v) : 0.0f);
    }
  }
}

}  // namespace

void adamw8bit_step_f32(float* p, const float* g, uint8_t* code1, uint8_t* code2, float* absmax1, float* absmax2, int64_t n,
                        int64_t block_size, const AdamWCoefficients& c, const DynamicMaps8bit& maps) {
  if (n == 0) return;
  const int64_t blocks = (n + block_size - 1) / block_size;
  const int threads = int((block_size + 31) / 32 * 32);  // block_size <= 1024: one thread an element
  adamw8bit_kernel<<<unsigned(std::min<int64_t>(blocks, int64_t(1) << 20)), threads>>>(p, g, code1, code2, absmax1, absmax2, n,
                                                                                        block_size, c, maps);
  CUDA_CHECK_LAUNCH("adamw8bit_step", {"n", n}, {"block_size", block_size});
}

}  // namespace lab::cuda
