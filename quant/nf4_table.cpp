// The NF4 code book, derived: 16 levels that split N(0, 1) into equal-probability bins
// (QLoRA section 3, "4-bit NormalFloat"), computed the way bitsandbytes' create_normal_map does,
// and checked bit for bit against its published literals in tests/quant/test_nf4.cpp.
//
// The inverse normal CDF is Acklam's rational approximation (relative error 1.15e-9), polished by
// Halley steps on the C library's erf/erfc to double precision, so the float32 rounding that follows
// is the same as SciPy's. Not here: quantizing with the table (nf4.cpp).
#include "quant/nf4.h"

#include "tensor/error.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lab::quant {

const std::array<float, 16> kNF4Published = {
    -1.0f,                 -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f,  0.16093020141124725f,  0.24611230194568634f,  0.33791524171829224f,
    0.44070982933044434f,  0.5626170039176941f,   0.7229568362236023f,   1.0f};

double normal_quantile(double p) {
  LAB_CHECK(p > 0 && p < 1, "normal_quantile: p must be in (0, 1), got {}", p);
  // Acklam (2003): a rational function in the centre, another in sqrt(-2 log p) in the tails.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
  const double p_low = 0.02425;
  auto tail = [&](double q) {
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  };
  double x;
  if (p < p_low) {
    x = tail(std::sqrt(-2 * std::log(p)));
  } else if (p > 1 - p_low) {
    x = -tail(std::sqrt(-2 * std::log1p(-p)));
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // Halley on e(x) = Phi(x) - p, Phi(x) = erfc(-x / sqrt 2) / 2; near the centre 0.5 erf(x / sqrt 2) - (p - 0.5)
  // avoids the cancellation (p - 0.5 is exact there). Each step triples the correct digits.
  for (int step = 0; step < 2; step++) {
    const double e = (p > 0.25 && p < 0.75) ? 0.5 * std::erf(x / std::numbers::sqrt2) - (p - 0.5)
                                            : 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
    const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);  // e / pdf(x)
    x = x - u / (1 + x * u / 2);
  }
  return x;
}

// torch's CPU linspace: step = (end - start) / (steps - 1) in float; the first half counts up from
// start, the second half down from end, so both ends are exact. torch 2.x builds this loop with
// FMA contraction (start + step * i rounds once); torch 1.13's vectorized loop rounded twice and
// differs in the last bit of a few dynamic-map entries (never of an NF4 level).
float linspace_f32(float start, float end, int64_t steps, int64_t i) {
  LAB_CHECK(steps >= 1 && i >= 0 && i < steps, "linspace_f32: index {} of {} steps", i, steps);
  if (steps == 1) return start;
  const float step = (end - start) / float(steps - 1);
  if (i < steps / 2) return std::fma(step, float(i), start);
  return std::fma(-step, float(steps - i - 1), end);
}

// v = sort(Phi^{-1}(linspace(offset, 1/2, 9)[:-1]) ++ [0] ++ -Phi^{-1}(linspace(offset, 1/2, 8)[:-1])) / max
std::array<float, 16> derive_nf4_table(double offset) {
  LAB_CHECK(offset > 0.5 && offset < 1, "derive_nf4_table: offset must be in (0.5, 1), got {}", offset);
  const float start = float(offset);  // torch.linspace takes the Python float as float32
  std::array<float, 16> v{};
  int k = 0;
  for (int64_t i = 0; i < 8; i++) v[k++] = float(normal_quantile(linspace_f32(start, 0.5f, 9, i)));    // 8 positive
  for (int64_t i = 0; i < 7; i++) v[k++] = float(-normal_quantile(linspace_f32(start, 0.5f, 8, i)));   // 7 negative
  v[k++] = 0.0f;                                                                                       // the exact zero
  std::sort(v.begin(), v.end());
  const float largest = v[15];
  for (float& x : v) x = x / largest;  // float32 division, as `values /= values.max()` in torch
  return v;
}

const std::array<float, 16>& nf4_table() {
  static const std::array<float, 16> table = derive_nf4_table();
  return table;
}

const std::array<float, 15>& nf4_thresholds() {
  static const std::array<float, 15> thresholds = [] {
    const std::array<float, 16>& t = nf4_table();
    std::array<float, 15> m{};
    // m_i = float((t_i + t_{i+1}) / 2), the midpoint taken in f64 (how bitsandbytes' literals were made)
    for (size_t i = 0; i < 15; i++) m[i] = float((double(t[i]) + double(t[i + 1])) / 2);
    return m;
  }();
  return thresholds;
}

void check_blocksize(int64_t blocksize, const char* what) {
  const bool power_of_two = blocksize > 0 && (blocksize & (blocksize - 1)) == 0;
  LAB_CHECK(power_of_two && blocksize >= 32 && blocksize <= 4096,
            "{}: block size must be a power of two from 32 to 4096 (as bitsandbytes allows), got {} (HINT: 64 is the default)", what,
            blocksize);
}

}  // namespace lab::quant
