// The CPU NF4 kernels of lesson 08 against the reference codec: every dequantization version
// (quant/nf4_kernels_cpu.h) must give dequantize_nf4_ref's bits; every matmul version
// (quant/nf4_matmul_cpu.h) must match an f64 product over the reference's dequantized W, on odd
// sizes (1, 17, 129, 1000) where blocks straddle rows and rows start mid-byte, with every ISA this CPU has.
#include <catch2/catch.hpp>

#include "quant/nf4.h"
#include "quant/nf4_kernels_cpu.h"
#include "quant/nf4_matmul_cpu.h"
#include "tensor/all.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace lab;
using namespace lab::quant;

namespace {

struct Quantized {
  std::vector<float> x;  // the original values
  std::vector<uint8_t> packed;
  std::vector<float> absmax;
  std::vector<float> ref;  // dequantize_nf4_ref
};

Quantized make(int64_t n, int64_t blocksize, uint64_t seed) {
  Generator g(seed);
  Quantized q;
  q.x.resize(size_t(n));
  for (float& v : q.x) v = 2.0f * g.normal();
  if (n >= 2 * blocksize) std::fill(q.x.begin() + blocksize, q.x.begin() + 2 * blocksize, 0.0f);  // a zero block
  q.packed.resize(size_t((n + 1) / 2));
  q.absmax.resize(size_t(num_blocks(n, blocksize)));
  quantize_nf4_ref(q.x.data(), n, blocksize, q.packed.data(), q.absmax.data());
  q.ref.resize(size_t(n));
  dequantize_nf4_ref(q.packed.data(), q.absmax.data(), n, blocksize, q.ref.data());
  return q;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("every CPU NF4 dequantization version gives the reference's bits") {
  REQUIRE(nf4_dequant_versions().size() >= 3);
  for (int64_t blocksize : {32, 64, 4096}) {
    for (int64_t n : {int64_t(1), int64_t(17), int64_t(129), int64_t(1000), int64_t(64 * 1100 + 7)}) {
      const Quantized q = make(n, blocksize, uint64_t(7 * n + blocksize));
      for (const Nf4DequantVersion& v : nf4_dequant_versions()) {
        std::vector<float> out(size_t(n), -99.0f);
        v.fn(q.packed.data(), q.absmax.data(), n, blocksize, out.data());
        INFO(v.name << ", block " << blocksize << ", n " << n);
        CHECK(same_bits(out, q.ref));
      }
    }
  }
}

TEST_CASE("nf4_decode_run decodes any slice, mid-byte starts included, with every ISA") {
  const int64_t n = 1000, blocksize = 32;
  const Quantized q = make(n, blocksize, 3);
  for (Isa isa : supported_isas()) {
    for (int64_t start : {0, 1, 15, 16, 17, 333}) {
      for (int64_t len : {0, 1, 16, 47, 600}) {
        if (start + len > n) continue;
        std::vector<float> out(static_cast<size_t>(len));
        nf4_decode_run(q.packed.data(), q.absmax.data(), blocksize, start, len, out.data(), isa);
        INFO(isa_name(isa) << ", start " << start << ", len " << len);
        CHECK((len == 0 || std::memcmp(out.data(), q.ref.data() + start, size_t(len) * sizeof(float)) == 0));
      }
    }
  }
}

TEST_CASE("a bad block size is an error that names the kernel") {
  std::vector<uint8_t> packed(8);
  std::vector<float> absmax(1), out(16);
  CHECK_THROWS_WITH(nf4_dequant_v2_byte_lut(packed.data(), absmax.data(), 16, 48, out.data()), Catch::Contains("nf4_dequant_v2_byte_lut"));
}

TEST_CASE("every CPU NF4 matmul version matches an f64 product on odd sizes") {
  const int64_t blocksize = 64;
  for (int64_t K : {int64_t(1), int64_t(17), int64_t(129), int64_t(1000)}) {
    for (int64_t N : {int64_t(1), int64_t(17), int64_t(129)}) {
      const Quantized w = make(N * K, blocksize, uint64_t(N * 31 + K));
      const Nf4MatrixRef ref{w.packed.data(), w.absmax.data(), blocksize, N, K};
      for (int64_t M : {int64_t(1), int64_t(17), int64_t(129)}) {
        if (M * N * K > 4'000'000) continue;  // keep the f64 reference fast
        Generator g(uint64_t(M + N + K));
        std::vector<float> x(size_t(M * K));
        for (float& v : x) v = g.normal();
        // y = x W^T in f64 over the reference W; the bound: f32 rounding of a K-term sum of |x| |w|
        std::vector<double> want(size_t(M * N)), bound(size_t(M * N));
        for (int64_t m = 0; m < M; m++)
          for (int64_t j = 0; j < N; j++) {
            double s = 0, a = 0;
            for (int64_t k = 0; k < K; k++) {
              const double p = double(x[size_t(m * K + k)]) * double(w.ref[size_t(j * K + k)]);
              s += p, a += std::fabs(p);
            }
            want[size_t(m * N + j)] = s, bound[size_t(m * N + j)] = 1e-5 * a + 1e-30;
          }
        auto check = [&](const std::vector<float>& y, const std::string& what) {
          double worst = 0;
          for (size_t i = 0; i < y.size(); i++) worst = std::max(worst, std::fabs(double(y[i]) - want[i]) / bound[i]);
          INFO(what << " M " << M << " N " << N << " K " << K << ": worst |y - f64| / (1e-5 sum |x w|) = " << worst);
          CHECK(worst <= 1.0);
        };
        for (const Nf4MatmulVersion& v : nf4_matmul_versions()) {
          std::vector<float> y(size_t(M * N), -99.0f);
          v.fn(x.data(), M, ref, y.data());
          check(y, v.name);
        }
        for (Isa isa : supported_isas()) {
          std::vector<float> y(size_t(M * N), -99.0f);
          nf4_matmul_fused_gemv(x.data(), M, ref, y.data(), isa);
          check(y, std::string("fused_gemv/") + isa_name(isa));
          nf4_matmul_fused_gemm(x.data(), M, ref, y.data(), isa);
          check(y, std::string("fused_gemm/") + isa_name(isa));
        }
      }
    }
  }
}

TEST_CASE("nf4_matmul_fused on tensors agrees with nf4_linear, double quantization included") {
  Generator g(5);
  const Tensor w = randn({129, 96}, g);
  for (bool dq : {false, true}) {
    const NF4Tensor q = quantize_nf4(w, 64, dq);
    for (int64_t rows : {int64_t(1), int64_t(3), int64_t(40)}) {
      const Tensor x = randn({rows, 96}, g);
      const std::vector<float> got = nf4_matmul_fused(x, q).to_vector<float>(), want = nf4_linear(x, q).to_vector<float>();
      REQUIRE(got.size() == want.size());
      double diff = 0;
      for (size_t i = 0; i < got.size(); i++) diff = std::max(diff, double(std::fabs(got[i] - want[i])));
      INFO("double quant " << dq << ", rows " << rows);
      CHECK(diff < 1e-4);
    }
  }
  CHECK_THROWS_WITH(nf4_matmul_fused(randn({2, 95}, g), quantize_nf4(w)), Catch::Contains("must end in 96 features"));
}
