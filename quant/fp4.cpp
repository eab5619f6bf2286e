// bitsandbytes' FP4 codec on the CPU (fp4.h): the level table, the quantization tree, blocks.
// The blocks, absmax and packing are NF4's (nf4.cpp); only the levels and the tree differ.
// Its tests: tests/quant/test_nf4.cpp ("FP4 ..." cases), beside the NF4 ones it is compared with.
#include "quant/fp4.h"

#include "quant/nf4.h"

#include <algorithm>
#include <cmath>

namespace lab::quant {

const std::array<float, 16>& fp4_table() {
  static const std::array<float, 16> table = [] {
    const float magnitude[8] = {0.0f, 0.0625f, 8.0f, 12.0f, 4.0f, 6.0f, 2.0f, 3.0f};
    std::array<float, 16> t{};
    for (int c = 0; c < 16; c++) t[size_t(c)] = (c & 8 ? -magnitude[c & 7] : magnitude[c & 7]) / 12.0f;
    return t;
  }();
  return table;
}

// bitsandbytes csrc/kernels.cu dQuantizeFP4: the sign, then a 3-level tree on |x| with the kernel's literals
uint8_t fp4_code(float x) {
  const uint8_t sign = x < 0 ? 8 : 0;
  x = std::fabs(x);
  uint8_t m;
  if (x > 0.29166667f) {
    if (x > 0.583333f) m = x > 0.8333333f ? 3 : 2;
    else m = x > 0.4166667f ? 5 : 4;
  } else {
    if (x > 0.0859375f) m = x > 0.20833333f ? 7 : 6;
    else m = x > 0.00260417f ? 1 : 0;
  }
  return uint8_t(m + sign);
}

float quantize_block_fp4(const float* x, int64_t len, uint8_t* packed) {
  float absmax = 0;
  for (int64_t i = 0; i < len; i++) absmax = std::max(absmax, std::fabs(x[i]));
  const float inv = absmax > 0 ? 1.0f / absmax : 0.0f;
  auto code = [&](float v) { return fp4_code(std::isinf(inv) ? v / absmax : v * inv); };
  for (int64_t j = 0; 2 * j < len; j++)
    packed[j] = uint8_t(code(x[2 * j]) << 4 | (2 * j + 1 < len ? code(x[2 * j + 1]) : fp4_code(0.0f)));
  return absmax;
}

void quantize_fp4_ref(const float* x, int64_t n, int64_t blocksize, uint8_t* packed, float* absmax) {
  check_blocksize(blocksize, "quantize_fp4");
  for (int64_t b = 0; b * blocksize < n; b++)
    absmax[b] = quantize_block_fp4(x + b * blocksize, std::min(blocksize, n - b * blocksize), packed + b * blocksize / 2);
}

// x_i = FP4[code_i] * absmax
void dequantize_fp4_ref(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  check_blocksize(blocksize, "dequantize_fp4");
  const std::array<float, 16>& t = fp4_table();
  for (int64_t i = 0; i < n; i++) out[i] = t[i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0x0f] * absmax[i / blocksize];
}

}  // namespace lab::quant
