// AdamW8bit: the CPU reference of the blockwise 8-bit update, the two code books, and the
// dispatch of each parameter to the f32 rule (small ones) or the 8-bit one, on the CPU or the GPU.
//   per block b:  m = map_m[c1] * absmax1_b;  v = map_v[c2] * absmax2_b       (dequantize, f32 products)
//                 AdamW on (p, g, m, v) exactly as adamw_step_ref<float>       (optim/adamw.cpp)
//                 absmax1_b = max |m|;  absmax2_b = max v;  c1 = code(m / absmax1_b), c2 = code(v / absmax2_b)
// Where bitsandbytes differs, and why we do not follow it: its kernel decays p after the Adam step
// (torch decays before: O(lr^2) apart) and uses the fast-math __powf and __fdividef; we keep AdamW's
// order and rounding so that the only difference from AdamW is the quantization of m and v.
// Its rounding of the codes we do keep: quantize_2D's midpoint search (= quant::dynamic_code) and
// its sign rule for m. Not here: the GPU kernel (cuda/adamw8bit.cu), the f32 rule (adamw.cpp).
#include "optim/adamw8bit.h"

#include "autograd/autograd.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if LAB_HAS_CUDA
#include "cuda/runtime.h"
#endif

namespace lab {

const quant::DynamicMap& adam8bit_map_m() { return quant::dynamic_map_signed(); }
const quant::DynamicMap& adam8bit_map_v() {
  static const quant::DynamicMap map = quant::create_dynamic_map(false);
  return map;
}

AdamW8bit::AdamW8bit(std::vector<Tensor> params, AdamWOptions options, Adam8bitOptions eight)
    : Optimizer(std::move(params)), options_(options), eight_(eight) {
  const AdamWOptions& o = options_;
  LAB_CHECK(o.lr >= 0 && o.eps >= 0 && o.weight_decay >= 0, "AdamW8bit: lr {}, eps {}, weight_decay {}: none may be negative", o.lr,
            o.eps, o.weight_decay);
  LAB_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "AdamW8bit: betas must be in [0, 1), got ({}, {})", o.beta1,
            o.beta2);
  LAB_CHECK(eight_.block_size >= 1 && eight_.block_size <= 1024,
            "AdamW8bit: block_size {} must be in [1, 1024] (HINT: bitsandbytes uses 256, one GPU thread a value)", eight_.block_size);
  LAB_CHECK(eight_.min_8bit_size >= 1, "AdamW8bit: min_8bit_size {} must be >= 1", eight_.min_8bit_size);
  for (size_t i = 0; i < params_.size(); i++)
    LAB_CHECK(!is_8bit(i) || params_[i].dtype() == DType::f32,
              "AdamW8bit: parameter {} ({}, {} elements) is {}; the 8-bit state is kept for f32 parameters only (HINT: train in "
              "f32, or raise min_8bit_size above {} to keep its state in {})",
              i, ag::name_of(params_[i]), params_[i].numel(), dtype_name(params_[i].dtype()), params_[i].numel(),
              dtype_name(params_[i].dtype()));
}

bool AdamW8bit::is_8bit(size_t i) const { return params_.at(i).numel() >= eight_.min_8bit_size; }

std::vector<Optimizer::Slot> AdamW8bit::slots() const {
  return {{"step", false},
          {"state1", true, DType::u8},
          {"state2", true, DType::u8},
          {"absmax1", true, DType::f32, eight_.block_size},
          {"absmax2", true, DType::f32, eight_.block_size}};
}

std::vector<Optimizer::Slot> AdamW8bit::slots_for(size_t i) const {
  if (is_8bit(i)) return slots();
  return {{"step", false}, {"state1", true}, {"state2", true}};  // bitsandbytes' names for its f32 state too
}

std::map<std::string, std::string> AdamW8bit::hyperparameters() const {
  const AdamWOptions& o = options_;
  return {{"lr", fmt::format("{}", o.lr)},
          {"betas", fmt::format("[{}, {}]", o.beta1, o.beta2)},
          {"eps", fmt::format("{}", o.eps)},
          {"weight_decay", fmt::format("{}", o.weight_decay)},
          {"block_size", fmt::format("{}", eight_.block_size)},
          {"min_8bit_size", fmt::format("{}", eight_.min_8bit_size)}};
}

// code of m / absmax with bitsandbytes' search, then its sign rule: a negative m (or -0) that rounds
// to the code of 0 takes the smallest negative code instead, so the momentum keeps its direction.
static uint8_t code_m(const quant::DynamicMap& map, float m, float absmax) {
  uint8_t c = quant::dynamic_code(map, absmax > 0 ? m / absmax : 0.0f);
  if (absmax > 0 && std::signbit(map[c]) != std::signbit(m)) c = m > 0 ? uint8_t(c + 1) : uint8_t(c - 1);
  return c;
}

void adamw8bit_step_ref(float* p, const float* g, uint8_t* code1, uint8_t* code2, float* absmax1, float* absmax2, int64_t n,
                        int64_t block_size, const cuda::AdamWCoefficients& c) {
  LAB_CHECK(block_size >= 1, "adamw8bit_step: block size must be positive, got {}", block_size);
  const quant::DynamicMap &map_m = adam8bit_map_m(), &map_v = adam8bit_map_v();
  const float decay = float(c.decay), w = float(c.beta1_weight), beta2 = float(c.beta2), one_minus_beta2 = float(c.one_minus_beta2);
  const float bc2_sqrt = float(c.bias_correction2_sqrt), eps = float(c.eps), neg_step_size = float(c.neg_step_size);
  const int64_t blocks = (n + block_size - 1) / block_size;
#pragma omp parallel for if (n >= 32768)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t begin = b * block_size, len = std::min(block_size, n - begin);
    float m[1024], v[1024];  // block_size <= 1024 (the constructor checks it)
    float max_m = 0, max_v = 0;
    for (int64_t k = 0; k < len; k++) {
      const int64_t i = begin + k;
      const float gi = g[i];
      // dequantize: m = map_m[c1] absmax1, v = map_v[c2] absmax2
      const float m_old = map_m[code1[i]] * absmax1[b], v_old = map_v[code2[i]] * absmax2[b];
      // AdamW, as adamw_step_ref: p *= decay; m = lerp(m, g, w); v = v b2 + ((1 - b2) g) g
      const float pi = p[i] * decay;
      const float mi = w < 0.5f ? m_old + w * (gi - m_old) : gi - (gi - m_old) * (1.0f - w);
      const float vi = v_old * beta2 + one_minus_beta2 * gi * gi;
      // p += -step_size (m / (sqrt(v) / sqrt(bc2) + eps))
      const float denom = std::sqrt(vi) / bc2_sqrt + eps;
      p[i] = pi + neg_step_size * (mi / denom);
      m[k] = mi, v[k] = vi;
      max_m = std::max(max_m, std::fabs(mi));
      max_v = std::max(max_v, std::fabs(vi));
    }
    // requantize against the block's new absmax (a zero block keeps absmax 0 and the code of 0)
    absmax1[b] = max_m, absmax2[b] = max_v;
    for (int64_t k = 0; k < len; k++) {
      code1[begin + k] = code_m(map_m, m[k], max_m);
      code2[begin + k] = quant::dynamic_code(map_v, max_v > 0 ? v[k] / max_v : 0.0f);
    }
  }
}

void AdamW8bit::update() {
  for (size_t i = 0; i < params_.size(); i++)
    if (has_update(i)) update_param(i);
}

void AdamW8bit::update_param(size_t i) {
  const Tensor& p = params_[i];
  const Tensor g = ag::grad(p).contiguous();
  std::map<std::string, Tensor>& s = state_for(i);
  int64_t& step = s.at("step").data<int64_t>()[0];  // the parameter's own count, on the CPU
  step += 1;
  const cuda::AdamWCoefficients c = adamw_coefficients(options_, step);
  const Tensor &m = s.at("state1"), &v = s.at("state2");
  const bool on_gpu = p.device().is_cuda();
#if LAB_HAS_CUDA
  if (on_gpu) cuda::set_device(p.device().index);
#endif
  if (!is_8bit(i)) {  // f32 (or f64) state: AdamW's rule, bit for bit
    adamw_step(p, g, 0, p.numel(), m.raw_data(), v.raw_data(), c);
    return;
  }
  float *absmax1 = s.at("absmax1").data<float>(), *absmax2 = s.at("absmax2").data<float>();
  if (on_gpu) {
#if LAB_HAS_CUDA
    static const cuda::DynamicMaps8bit maps = [] {
      cuda::DynamicMaps8bit out{};
      std::memcpy(out.m, adam8bit_map_m().data(), sizeof(out.m));
      std::memcpy(out.v, adam8bit_map_v().data(), sizeof(out.v));
      return out;
    }();
    cuda::adamw8bit_step_f32(p.data<float>(), g.data<float>(), m.data<uint8_t>(), v.data<uint8_t>(), absmax1, absmax2, p.numel(),
                             eight_.block_size, c, maps);
    return;
#endif
  }
  adamw8bit_step_ref(p.data<float>(), g.data<float>(), m.data<uint8_t>(), v.data<uint8_t>(), absmax1, absmax2, p.numel(),
                     eight_.block_size, c);
}

}  // namespace lab
