// NF4, FP4 and double quantization on the CPU: the table derived to the bit, the rules of the codec
// (exact levels, ties, packing, zero and partial blocks, block sizes), the double-quantized absmax
// within the 8-bit map's resolution, bits per parameter from the allocator, and an error ceiling per
// format on N(0, 1) (ggml's quantize-fns test in spirit). Layer and files: test_nf4_layer.cpp;
// bitsandbytes' own bytes: test_nf4_bnb.cpp; the GPU kernels: tests/cuda/test_cuda_nf4.cpp.
#include "quant/double_quant.h"
#include "quant/fp4.h"
#include "quant/nf4.h"
#include "tensor/all.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

using namespace lab;
using namespace lab::quant;

namespace {

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// One block of the split codec, returned as (codes, absmax) for easy checks.
std::pair<std::vector<uint8_t>, std::vector<float>> quantize(const std::vector<float>& x, int64_t blocksize = 64) {
  const int64_t n = int64_t(x.size());
  std::vector<uint8_t> packed(size_t((n + 1) / 2));
  std::vector<float> absmax(size_t(num_blocks(n, blocksize)));
  quantize_nf4_ref(x.data(), n, blocksize, packed.data(), absmax.data());
  return {packed, absmax};
}

uint8_t code_at(const std::vector<uint8_t>& packed, size_t i) { return i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0x0f; }

}  // namespace

TEST_CASE("the NF4 table derived from normal quantiles equals bitsandbytes' 16 literals bit for bit") {
  const std::array<float, 16>& t = nf4_table();
  for (size_t i = 0; i < 16; i++) {
    INFO("level " << i << ": derived " << t[i] << ", published " << kNF4Published[i]);
    CHECK(same_bits(t[i], kNF4Published[i]));
  }
  // The thresholds are float32 of the f64 midpoints, as bitsandbytes' CPU path computes them
  // ((a + b) / 2 in float32, which rounds the same). Its CUDA tree writes them as decimal literals:
  // where the f64 midpoint falls exactly between two floats, the literal (the midpoint's shortest
  // repr, a hair off the tie) rounds to the other float in 4 of 7 cases. One ulp either way.
  const float tree[15] = {-0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f, -0.23460740596055984f,
                          -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f, 0.1202552504837513f, 0.2035212516784668f,
                          0.2920137718319893f,  0.3893125355243683f,   0.5016634166240692f,  0.6427869200706482f,  0.8614784181118011f};
  int differ = 0;
  for (size_t i = 0; i < 15; i++) {
    const float ours = nf4_thresholds()[i];
    const double midpoint = (double(t[i]) + double(t[i + 1])) / 2;
    CHECK(same_bits(ours, float((t[i] + t[i + 1]) / 2)));  // float32 arithmetic gives the same
    if (same_bits(ours, tree[i])) continue;
    differ++;
    CHECK(std::nextafter(ours, tree[i]) == tree[i]);                           // one ulp apart
    CHECK(std::fabs(double(ours) - midpoint) == std::fabs(double(tree[i]) - midpoint));  // both equally near: a tie
  }
  CHECK(differ == 4);
  CHECK(derive_nf4_table(0.9677083) == t);
}

TEST_CASE("the inverse normal CDF is good to double precision") {
  // Reference values: sqrt(2) erfinv(2p - 1) in mpmath at 30 digits, rounded to 17.
  CHECK(normal_quantile(0.5) == 0.0);
  CHECK(normal_quantile(0.975) == Approx(1.9599639845400542).epsilon(1e-15));
  CHECK(normal_quantile(0.9677083) == Approx(1.8481309597573738).epsilon(1e-15));  // the largest NF4 quantile, before / max
  CHECK(normal_quantile(1e-10) == Approx(-6.3613409024040562).epsilon(1e-15));
  CHECK(normal_quantile(0.02425) == Approx(-1.9729610513118849).epsilon(1e-15));   // where Acklam switches to the tail
  for (double p : {0.01, 0.2, 0.3, 0.6, 0.9, 0.999}) CHECK(normal_quantile(p) == Approx(-normal_quantile(1 - p)).epsilon(1e-14));
  REQUIRE_THROWS_AS(normal_quantile(0.0), Error);
  REQUIRE_THROWS_AS(normal_quantile(1.0), Error);
}

TEST_CASE("exact levels come back exactly, whatever the block's absmax") {
  for (float absmax : {1.0f, 2.0f, 3.7f, 1e-3f, 65504.0f}) {
    DYNAMIC_SECTION("absmax " << absmax) {
      std::vector<float> x(64);
      for (size_t i = 0; i < 64; i++) x[i] = nf4_table()[i % 16] * absmax;  // contains +-absmax: the block's absmax is absmax
      auto [packed, am] = quantize(x);
      CHECK(am[0] == absmax);
      std::vector<float> back(64);
      dequantize_nf4_ref(packed.data(), am.data(), 64, 64, back.data());
      for (size_t i = 0; i < 64; i++) {
        CHECK(code_at(packed, i) == i % 16);
        CHECK(same_bits(back[i], x[i]));
      }
    }
  }
}

TEST_CASE("a value on a midpoint goes to the lower code, one ulp above it to the upper") {
  std::vector<float> x(64, 0.0f);
  x[0] = 1.0f;  // absmax 1: the scaled values are the values themselves
  for (size_t i = 0; i < 15; i++) {
    x[1 + i] = nf4_thresholds()[i];
    x[16 + i] = std::nextafter(nf4_thresholds()[i], 2.0f);
  }
  auto [packed, am] = quantize(x);
  for (size_t i = 0; i < 15; i++) {
    CHECK(code_at(packed, 1 + i) == i);
    CHECK(code_at(packed, 16 + i) == i + 1);
  }
  CHECK(nf4_code(std::nanf("")) == 0);
}

TEST_CASE("two codes a byte: element 2j in the high nibble, and the ggml-style block gives the same bytes") {
  std::vector<float> x(64, 0.0f);
  x[0] = nf4_table()[3], x[1] = nf4_table()[12], x[2] = -1.0f, x[3] = 1.0f;
  auto [packed, am] = quantize(x);
  CHECK(packed[0] == 0x3c);
  CHECK(packed[1] == 0x0f);
  CHECK(packed[2] == 0x77);

  Generator g(3);
  std::vector<float> y(200);
  for (float& v : y) v = g.normal();
  auto [p2, a2] = quantize(y);
  std::vector<BlockNF4> blocks(4);
  quantize_row_nf4_ref(y.data(), blocks.data(), 200);
  for (size_t b = 0; b < 4; b++) {
    CHECK(blocks[b].absmax == a2[b]);
    for (size_t j = 0; j < 32 && b * 32 + j < p2.size(); j++) CHECK(blocks[b].qs[j] == p2[b * 32 + j]);
  }
  std::vector<float> back(200), back2(200);
  dequantize_row_nf4(blocks.data(), back.data(), 200);
  dequantize_nf4_ref(p2.data(), a2.data(), 200, 64, back2.data());
  CHECK(back == back2);
}

TEST_CASE("a zero block: absmax 0, every code 7 (0x77), dequantized to +0.0, and its neighbours are unaffected") {
  std::vector<float> x(192);
  for (size_t i = 0; i < 192; i++) x[i] = i / 64 == 1 ? 0.0f : float(i % 7) - 3.0f;
  auto [packed, am] = quantize(x);
  CHECK(am[1] == 0.0f);
  for (size_t j = 32; j < 64; j++) CHECK(packed[j] == 0x77);
  std::vector<float> back(192);
  dequantize_nf4_ref(packed.data(), am.data(), 192, 64, back.data());
  for (size_t i = 64; i < 128; i++) CHECK((back[i] == 0.0f && !std::signbit(back[i])));
  CHECK(am[0] == 3.0f);
  CHECK(back[3] == 0.0f);  // an exact 0 inside a non-zero block is code 7 too
}

TEST_CASE("odd lengths and partial last blocks") {
  for (int64_t n : {1, 3, 63, 65, 127, 1001}) {
    DYNAMIC_SECTION("n = " << n) {
      Generator g{uint64_t(n)};
      std::vector<float> x(static_cast<size_t>(n));
      for (float& v : x) v = g.normal();
      auto [packed, am] = quantize(x);
      REQUIRE(packed.size() == size_t((n + 1) / 2));
      REQUIRE(am.size() == size_t((n + 63) / 64));
      if (n % 2) CHECK((packed.back() & 0x0f) == 7);  // the pad is 0.0
      // The last block on its own gives the same absmax and bytes.
      const int64_t last = (n - 1) / 64 * 64;
      std::vector<uint8_t> alone(size_t((n - last + 1) / 2));
      CHECK(quantize_block_nf4(x.data() + last, n - last, alone.data()) == am.back());
      for (size_t j = 0; j < alone.size(); j++) CHECK(alone[j] == packed[size_t(last / 2) + j]);
      std::vector<float> back(static_cast<size_t>(n));
      dequantize_nf4_ref(packed.data(), am.data(), n, 64, back.data());
      for (int64_t i = 0; i < n; i++) CHECK(std::fabs(back[size_t(i)] - x[size_t(i)]) <= 0.5f * am[size_t(i / 64)]);
      // and through tensors, with the original shape
      NF4Tensor q = quantize_nf4(from_vector(x));
      CHECK(dequantize_nf4(q).to_vector<float>() == back);
    }
  }
}

TEST_CASE("block sizes: powers of two from 32 to 4096, anything else is a clear error") {
  Generator g(1);
  Tensor x = randn({8, 512}, g);
  for (int64_t b : {32, 64, 128, 256, 512, 1024, 2048, 4096}) {
    NF4Tensor q = quantize_nf4(x, b);
    CHECK(q.absmax.numel() == (4096 + b - 1) / b);
    CHECK(dequantize_nf4(q).shape() == x.shape());
  }
  for (int64_t b : {0, -64, 16, 48, 100, 8192}) {
    DYNAMIC_SECTION("block " << b) {
      REQUIRE_THROWS_WITH(quantize_nf4(x, b), Catch::Contains("block size must be a power of two from 32 to 4096") && Catch::Contains(std::to_string(b)));
      std::vector<uint8_t> p(4);
      std::vector<float> a(1), v(8, 1.0f);
      REQUIRE_THROWS_AS(quantize_nf4_ref(v.data(), 8, b, p.data(), a.data()), Error);
    }
  }
  REQUIRE_THROWS_WITH(quantize_nf4(arange(4, DType::i64), 64), Catch::Contains("floating-point"));
}

TEST_CASE("the signed dynamic map: 127 negative values, 0, 127 positive and 1.0, and every entry is its own code") {
  const DynamicMap& m = dynamic_map_signed();
  CHECK(m[0] == -0.99296875f);
  CHECK(m[127] == 0.0f);
  CHECK(m[255] == 1.0f);
  CHECK(m[128] == Approx(5.5e-7).epsilon(0.01));
  for (int k = 1; k < 128; k++) CHECK(m[size_t(127 - k)] == -m[size_t(127 + k)]);
  CHECK(std::is_sorted(m.begin(), m.end()));
  for (int i = 0; i < 256; i++) CHECK(dynamic_code(m, m[size_t(i)]) == i);
  // Nearest by distance (within float rounding at the midpoints) on random values in [-1, 1].
  Generator g(5);
  for (int t = 0; t < 20000; t++) {
    const float x = 2 * g.uniform() - 1;
    const uint8_t c = dynamic_code(m, x);
    double best = 1e9;
    for (float v : m) best = std::min(best, std::fabs(double(v) - x));
    CHECK(std::fabs(double(m[c]) - x) <= best + 1e-7);
  }
  CHECK(dynamic_code(m, std::nanf("")) == 0);
}

TEST_CASE("double quantization: the decoded absmax is within the 8-bit map's resolution") {
  Generator g(11);
  Tensor w = randn({256, 384}, g);  // 1536 blocks of 64: 6 second-level blocks of 256
  NF4Tensor plain = quantize_nf4(w, 64);
  NF4Tensor dq = quantize_nf4(w, 64, true);
  CHECK(dequantize_nf4(plain).to_vector<float>() != dequantize_nf4(dq).to_vector<float>());
  CHECK(dq.packed.to_vector<uint8_t>() == plain.packed.to_vector<uint8_t>());  // the 4-bit codes do not change
  const std::vector<float> exact = plain.absmax.to_vector<float>(), decoded = nf4_absmax(dq).to_vector<float>();
  const std::vector<uint8_t> codes = dq.nested.codes.to_vector<uint8_t>();
  const std::vector<float> absmax2 = dq.nested.absmax2.to_vector<float>();
  const DynamicMap& m = dq.nested.map;
  double worst_rel = 0;
  for (size_t i = 0; i < exact.size(); i++) {
    // |decoded - exact| <= absmax2 * (half the larger gap around the code) + float rounding
    const size_t c = codes[i];
    const double gap = std::max(c < 255 ? m[c + 1] - m[c] : 0.0f, c > 0 ? m[c] - m[c - 1] : 0.0f);
    const double bound = absmax2[i / 256] * gap / 2 + 4e-7 * std::fabs(exact[i]);
    INFO("block " << i << ": exact " << exact[i] << ", decoded " << decoded[i] << ", bound " << bound);
    CHECK(std::fabs(double(decoded[i]) - exact[i]) <= bound);
    worst_rel = std::max(worst_rel, std::fabs(double(decoded[i]) - exact[i]) / exact[i]);
  }
  CHECK(worst_rel < 0.02);  // the absmaxes of N(0,1) blocks sit near their mean, where the map is finest
  CHECK(dq.nested.offset == Approx(std::accumulate(exact.begin(), exact.end(), 0.0) / double(exact.size())).epsilon(1e-7));
}

TEST_CASE("bits per parameter: 4 + 0.5 plain, 4 + 0.127 double quantized, computed and measured by the allocator") {
  Generator g(2);
  Tensor w = randn({256, 256}, g);  // 65536 weights: 1024 blocks of 64, 4 second-level blocks of 256
  for (bool dq : {false, true}) {
    const size_t before = memory_stats(Device::cpu()).current;
    NF4Tensor q = quantize_nf4(w, 64, dq);
    const size_t measured = memory_stats(Device::cpu()).current - before;
    // 4 bits of code; plus 32/64 of absmax, or 8/64 of code + 32/(64*256) of nested absmax
    const double computed = dq ? 4 + 8.0 / 64 + 32.0 / (64 * 256) : 4 + 32.0 / 64;
    CHECK(measured == q.nbytes());
    CHECK(8.0 * double(measured) / 65536 == computed);
    CHECK(q.bits_per_parameter() == computed);
  }
  CHECK(4 + 8.0 / 64 + 32.0 / (64 * 256) == Approx(4.127).margin(5e-4));
}

TEST_CASE("FP4: bitsandbytes' table and tree") {
  const float lut[8] = {0.0f, 0.005208333333f, 0.66666667f, 1.0f, 0.33333333f, 0.5f, 0.16666667f, 0.25f};  // csrc/kernels.cu
  for (int c = 0; c < 16; c++) {
    CHECK(same_bits(std::fabs(fp4_table()[size_t(c)]), lut[c & 7]));
    if (c != 8) CHECK(fp4_code(fp4_table()[size_t(c)]) == c);  // -0.0 is not < 0: it takes code 0
  }
  CHECK(fp4_code(0.583333f) == 5);                       // the kernel's literal, a hair below 7/12: ties go down to 1/2...
  CHECK(fp4_code(std::nextafter(0.583333f, 1.0f)) == 2);  // ...and anything above it rounds up to 2/3
  CHECK(fp4_code(-0.3f) == (8 | 4));
}

// Mean |error| ceilings at block 64 on 1024 x 1024 N(0, 1): bitsandbytes' test_4bit_quant anchors
// (mean + 7 sigma over 200 runs on a GPU: NF4 0.072798 +- 0.000074, FP4 0.096543 +- 0.000111); RMSE
// ceilings 1% above what this codec measures (0.0918, 0.1218, 0.00592); int8 is per-block absmax, rint(x * 127 / absmax).
TEST_CASE("error ceiling per format on N(0, 1) at block 64: int8 < NF4 < FP4") {
  Generator g(0);
  Tensor x = randn({1024, 1024}, g);
  const int64_t n = x.numel();
  const float* v = x.data<float>();
  std::vector<uint8_t> packed(static_cast<size_t>(n / 2));
  std::vector<float> absmax(static_cast<size_t>(n / 64)), y(static_cast<size_t>(n));
  auto errors = [&] {
    double abs_sum = 0, sq_sum = 0;
    for (int64_t i = 0; i < n; i++) {
      const double e = std::fabs(double(y[size_t(i)]) - v[i]);
      abs_sum += e, sq_sum += e * e;
    }
    return std::pair<double, double>{abs_sum / double(n), std::sqrt(sq_sum / double(n))};
  };
  quantize_nf4_ref(v, n, 64, packed.data(), absmax.data());
  dequantize_nf4_ref(packed.data(), absmax.data(), n, 64, y.data());
  auto [nf4_mean, nf4_rmse] = errors();
  quantize_fp4_ref(v, n, 64, packed.data(), absmax.data());
  dequantize_fp4_ref(packed.data(), absmax.data(), n, 64, y.data());
  auto [fp4_mean, fp4_rmse] = errors();
  for (int64_t b = 0; b < n / 64; b++) {
    float m = 0;
    for (int64_t i = b * 64; i < b * 64 + 64; i++) m = std::max(m, std::fabs(v[i]));
    for (int64_t i = b * 64; i < b * 64 + 64; i++) y[size_t(i)] = std::rint(v[i] * 127 / m) * (m / 127);
  }
  auto [int8_mean, int8_rmse] = errors();
  INFO("mean |err|: nf4 " << nf4_mean << ", fp4 " << fp4_mean << ", int8 " << int8_mean);
  INFO("rmse: nf4 " << nf4_rmse << ", fp4 " << fp4_rmse << ", int8 " << int8_rmse);
  CHECK(nf4_mean < 0.072798 + 7 * 0.000074);
  CHECK(fp4_mean < 0.096543 + 7 * 0.000111);
  CHECK(nf4_rmse < 0.0928);
  CHECK(fp4_rmse < 0.1230);
  CHECK(int8_rmse < 0.0060);
  CHECK(int8_rmse < nf4_rmse);
  CHECK(nf4_rmse < fp4_rmse);
}
