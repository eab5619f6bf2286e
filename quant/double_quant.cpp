// Double quantization: bitsandbytes' signed dynamic map, its 8-bit blockwise codec, and the
// second level of an NF4 weight (double_quant.h), with one dispatch to cuda/nf4.cu.
//
// The map is built as create_dynamic_map builds it in Python, float32 step by float32 step, so it
// equals torch 2.x's tensor bit for bit (tests/quant/test_nf4_bnb.cpp checks it against the
// map bitsandbytes wrote into the fixture). The search is the CUDA kernel's dQuantize<0>.
// Not here: NF4 itself (nf4.cpp).
#include "quant/double_quant.h"

#include "quant/nf4.h"
#include "tensor/error.h"

#if LAB_HAS_CUDA
#include "cuda/nf4.h"
#include "cuda/runtime.h"
#endif

#include <algorithm>
#include <cmath>
#include <vector>

namespace lab::quant {

// For each decade 10^(i - (e - 1)), i < e: the means of neighbouring linspace(0.1, 1, k) values,
// scaled; k doubles with i, so the decades near 1 get the most values (Dettmers 2016, dynamic tree).
DynamicMap create_dynamic_map(bool is_signed, int max_exponent_bits, int total_bits) {
  LAB_CHECK(total_bits >= 2 && total_bits <= 8 && max_exponent_bits >= 1 && max_exponent_bits <= total_bits - 1,
            "create_dynamic_map: need 1 <= max_exponent_bits <= total_bits - 1 <= 7, got {} and {}", max_exponent_bits, total_bits);
  std::vector<float> data;
  const int non_sign_bits = total_bits - 1;
  // mean_j = (b_j + b_{j+1}) / 2 of b = linspace(0.1, 1, items), times 10^decade (torch rounds the scalar to float32 first)
  auto add_means = [&](int64_t items, int decade) {
    const float scale = float(std::pow(10.0, decade));
    for (int64_t j = 0; j + 1 < items; j++) {
      const float mean = (linspace_f32(0.1f, 1.0f, items, j) + linspace_f32(0.1f, 1.0f, items, j + 1)) / 2.0f;
      data.push_back(scale * mean);
      if (is_signed) data.push_back(-scale * mean);
    }
  };
  for (int i = 0; i < max_exponent_bits; i++)
    add_means((int64_t(1) << (i + non_sign_bits - max_exponent_bits + (is_signed ? 0 : 1))) + 1, i - (max_exponent_bits - 1));
  const int64_t additional_items = (int64_t(1) << (non_sign_bits - max_exponent_bits)) - 1;
  if (additional_items > 0) add_means(additional_items + 1, 0);  // Python reuses the last loop's i: decade 0
  data.push_back(0.0f);
  data.push_back(1.0f);
  LAB_ASSERT(data.size() == (size_t(1) << total_bits));
  data.resize(256, 0.0f);  // bitsandbytes pads a shorter map with zeros
  std::sort(data.begin(), data.end());
  DynamicMap map{};
  std::copy(data.begin(), data.end(), map.begin());
  return map;
}

const DynamicMap& dynamic_map_signed() {
  static const DynamicMap map = create_dynamic_map(true);
  return map;
}

// bitsandbytes csrc/kernels.cu dQuantize<0>, line for line: pivots 127 +- 64, 32, ..., 1, keeping the last
// pivot passed on each side; then the nearer of the final pivot and that neighbour by float32 midpoint.
uint8_t dynamic_code(const DynamicMap& code, float x) {
  int pivot = 127, upper_pivot = 255, lower_pivot = 0;
  float lower = -1.0f, upper = 1.0f;
  float val = code[pivot];
  for (int i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lower_pivot = pivot, lower = val, pivot += i;
    } else {
      upper_pivot = pivot, upper = val, pivot -= i;
    }
    val = code[pivot];
  }
  if (upper_pivot == 255) upper = code[upper_pivot];
  if (lower_pivot == 0) lower = code[lower_pivot];
  if (x > val) return uint8_t(x > (upper + val) * 0.5f ? upper_pivot : pivot);
  return uint8_t(x < (lower + val) * 0.5f ? lower_pivot : pivot);
}

void quantize_dynamic8_ref(const float* x, int64_t n, int64_t blocksize, const DynamicMap& map, uint8_t* codes, float* absmax) {
  LAB_CHECK(blocksize > 0, "quantize_dynamic8: block size must be positive, got {}", blocksize);
  for (int64_t b = 0; b * blocksize < n; b++) {
    const int64_t begin = b * blocksize, end = std::min(n, begin + blocksize);
    float m = 0;
    for (int64_t i = begin; i < end; i++) m = std::max(m, std::fabs(x[i]));
    absmax[b] = m;
    const float inv = m > 0 ? 1.0f / m : 0.0f;  // as NF4: a zero block scales by 0
    for (int64_t i = begin; i < end; i++) codes[i] = dynamic_code(map, std::isinf(inv) ? x[i] / m : x[i] * inv);
  }
}

// out_i = map[c_i] * absmax_b + offset: a float32 product, then a float32 sum (two roundings)
void dequantize_dynamic8_ref(const uint8_t* codes, const float* absmax, int64_t n, int64_t blocksize, const DynamicMap& map, float offset,
                             float* out) {
  LAB_CHECK(blocksize > 0, "dequantize_dynamic8: block size must be positive, got {}", blocksize);
  for (int64_t i = 0; i < n; i++) {
    const float product = map[codes[i]] * absmax[i / blocksize];
    out[i] = product + offset;
  }
}

// mean = (sum over runs r of (sum_{i in r} x_i in f64)) / n, runs of 256 in order
float double_quant_offset_ref(const float* absmax, int64_t n) {
  if (n == 0) return 0.0f;
  double total = 0;
  for (int64_t begin = 0; begin < n; begin += kNestedBlockSize) {
    double run = 0;
    for (int64_t i = begin; i < std::min(n, begin + kNestedBlockSize); i++) run += double(absmax[i]);
    total += run;
  }
  return float(total / double(n));
}

DoubleQuant double_quantize(const Tensor& absmax_in) {
  LAB_CHECK(absmax_in.defined() && absmax_in.dtype() == DType::f32 && absmax_in.dim() == 1,
            "double_quantize: expected the f32 absmax vector of an NF4 tensor, got {}",
            absmax_in.defined() ? fmt::format("{} of shape {}", dtype_name(absmax_in.dtype()), shape_str(absmax_in.shape())) : "undefined");
  const Tensor absmax = absmax_in.contiguous();
  const int64_t n = absmax.numel();
  DoubleQuant dq;
  dq.map = dynamic_map_signed();
  dq.codes = Tensor::empty({n}, DType::u8, absmax.device());
  dq.absmax2 = Tensor::empty({num_blocks(n, kNestedBlockSize)}, DType::f32, absmax.device());
  if (n == 0) return dq;
  if (absmax.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(absmax.device().index);
    Tensor scratch = Tensor::empty({num_blocks(n, kNestedBlockSize) + 1}, DType::f64, absmax.device());
    dq.offset = cuda::double_quant_offset(absmax.data<float>(), n, scratch.data<double>());
    cuda::DynamicMap256 map;
    std::copy(dq.map.begin(), dq.map.end(), map.v);
    cuda::dynamic8_quantize(dq.codes.data<uint8_t>(), dq.absmax2.data<float>(), absmax.data<float>(), dq.offset, n, kNestedBlockSize, map);
    return dq;
#endif
  }
  const float* a = absmax.data<float>();
  dq.offset = double_quant_offset_ref(a, n);
  std::vector<float> centred(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; i++) centred[size_t(i)] = a[i] - dq.offset;  // bitsandbytes: _absmax - offset, in float32
  quantize_dynamic8_ref(centred.data(), n, kNestedBlockSize, dq.map, dq.codes.data<uint8_t>(), dq.absmax2.data<float>());
  return dq;
}

Tensor double_dequantize(const DoubleQuant& dq) {
  LAB_CHECK(dq.blocksize > 0, "double_dequantize: nested block size must be positive, got {}", dq.blocksize);
  LAB_CHECK(dq.defined() && dq.codes.dtype() == DType::u8 && dq.absmax2.defined() &&
                dq.absmax2.numel() == num_blocks(dq.codes.numel(), dq.blocksize),
            "double_dequantize: {} codes need {} nested absmax values", dq.codes.defined() ? dq.codes.numel() : 0,
            dq.codes.defined() ? num_blocks(dq.codes.numel(), dq.blocksize) : 0);
  const int64_t n = dq.codes.numel();
  Tensor out = Tensor::empty({n}, DType::f32, dq.codes.device());
  if (n == 0) return out;
  if (out.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(out.device().index);
    cuda::DynamicMap256 map;
    std::copy(dq.map.begin(), dq.map.end(), map.v);
    cuda::dynamic8_dequantize(out.data<float>(), dq.codes.data<uint8_t>(), dq.absmax2.data<float>(), dq.offset, n, dq.blocksize, map);
    return out;
#endif
  }
  const Tensor codes = dq.codes.contiguous(), absmax2 = dq.absmax2.contiguous();
  dequantize_dynamic8_ref(codes.data<uint8_t>(), absmax2.data<float>(), n, dq.blocksize, dq.map, dq.offset, out.data<float>());
  return out;
}

}  // namespace lab::quant
