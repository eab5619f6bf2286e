// The CPU NF4 dequantization versions of nf4_kernels_cpu.h, and nf4_decode_run for the fused matmuls.
//
// Each SIMD kernel turns 8 packed bytes into 16 table indices in element order, looks the 16 values
// up in registers (nf4_simd.h: vpermps), then multiplies by the block's absmax; the loops here only
// walk blocks and runs. Reference for the in-register lookup: Intel's intrinsics guide (vpermps);
// llama.cpp's IQ4_NL kernels do the same with a byte shuffle (vpshufb) for integer codes.
#include "quant/nf4_kernels_cpu.h"

#include "quant/nf4.h"
#include "quant/nf4_simd.h"
#include "tensor/error.h"

#include <omp.h>

#include <algorithm>
#include <array>


namespace lab::quant {

namespace {

using simd::nf4_value_at;

// Runs the SIMD kernel `chunk` on every aligned run of 16 inside blocks [b0, b1), the reference on each block's tail.
// Always inlined, so that `chunk` inlines too, into the caller compiled for its ISA.
template <typename Chunk>
__attribute__((always_inline)) inline void blocks_by_16(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize,
                                                        float* out, int64_t b0, int64_t b1, const Chunk& chunk) {
  for (int64_t b = b0; b < b1; b++) {
    const int64_t begin = b * blocksize, len = std::min(blocksize, n - begin), full = len / 16 * 16;
    const float a = absmax[b];
    for (int64_t k = 0; k < full; k += 16) chunk(packed + (begin + k) / 2, a, out + begin + k);
    if (full < len) dequantize_block_nf4(packed + (begin + full) / 2, a, len - full, out + begin + full);
  }
}

#if LAB_NF4_X86
using simd::lookup16_avx2;
using simd::lookup16_avx512;

struct Avx2Lut {
  __m256 lo, hi;
};

// out[0..16) = NF4[codes] * a
__attribute__((target("avx2"))) inline void chunk16_avx2(const uint8_t* p, float a, float* out, Avx2Lut lut) {
  __m256 v0, v1;
  lookup16_avx2(p, lut.lo, lut.hi, &v0, &v1);
  const __m256 scale = _mm256_set1_ps(a);
  _mm256_storeu_ps(out, _mm256_mul_ps(v0, scale));
  _mm256_storeu_ps(out + 8, _mm256_mul_ps(v1, scale));
}

__attribute__((target("avx2"))) Avx2Lut avx2_lut() { return {_mm256_loadu_ps(nf4_table().data()), _mm256_loadu_ps(nf4_table().data() + 8)}; }

// out[0..16) = NF4[codes] * a, the whole table in one zmm register
__attribute__((target("avx512f"))) inline void chunk16_avx512(const uint8_t* p, float a, float* out, __m512 lut) {
  _mm512_storeu_ps(out, _mm512_mul_ps(lookup16_avx512(p, lut), _mm512_set1_ps(a)));
}

__attribute__((target("avx2"))) void blocks_avx2(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out,
                                                 int64_t b0, int64_t b1) {
  const Avx2Lut lut = avx2_lut();
  blocks_by_16(packed, absmax, n, blocksize, out, b0, b1,
               [lut](const uint8_t* p, float a, float* o) __attribute__((target("avx2"))) { chunk16_avx2(p, a, o, lut); });
}

__attribute__((target("avx512f"))) void blocks_avx512(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize,
                                                      float* out, int64_t b0, int64_t b1) {
  const __m512 lut = _mm512_loadu_ps(nf4_table().data());
  blocks_by_16(packed, absmax, n, blocksize, out, b0, b1,
               [lut](const uint8_t* p, float a, float* o) __attribute__((target("avx512f"))) { chunk16_avx512(p, a, o, lut); });
}

// Values [start, start + len): scalar up to a multiple of 16, SIMD runs of 16, a scalar tail.
template <typename Chunk>
__attribute__((always_inline)) inline void run_by_16(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start,
                                                     int64_t len, float* out, const Chunk& chunk) {
  int64_t i = start;
  const int64_t end = start + len;
  for (; i < end && i % 16 != 0; i++) out[i - start] = nf4_value_at(packed, absmax, blocksize, i);
  for (; i + 16 <= end; i += 16) chunk(packed + i / 2, absmax[i / blocksize], out + (i - start));
  for (; i < end; i++) out[i - start] = nf4_value_at(packed, absmax, blocksize, i);
}

__attribute__((target("avx2"))) void run_avx2(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start, int64_t len,
                                              float* out) {
  const Avx2Lut lut = avx2_lut();
  run_by_16(packed, absmax, blocksize, start, len, out,
            [lut](const uint8_t* p, float a, float* o) __attribute__((target("avx2"))) { chunk16_avx2(p, a, o, lut); });
}

__attribute__((target("avx512f"))) void run_avx512(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start,
                                                   int64_t len, float* out) {
  const __m512 lut = _mm512_loadu_ps(nf4_table().data());
  run_by_16(packed, absmax, blocksize, start, len, out,
            [lut](const uint8_t* p, float a, float* o) __attribute__((target("avx512f"))) { chunk16_avx512(p, a, o, lut); });
}
#endif

bool has_isa(Isa isa) {
  static const std::vector<Isa> ok = supported_isas();
  return std::find(ok.begin(), ok.end(), isa) != ok.end();
}

void require_isa(Isa isa, const char* what) {
  LAB_CHECK(has_isa(isa), "{}: this CPU cannot run {} (HINT: pick one of nf4_dequant_versions(), which lists what it runs)", what,
            isa_name(isa));
}

void check_args(int64_t n, int64_t blocksize, const char* what) {
  check_blocksize(blocksize, what);
  LAB_CHECK(n >= 0, "{}: n must be >= 0, got {}", what, n);
}

// byte -> {NF4[byte >> 4], NF4[byte & 15]}
const std::array<std::array<float, 2>, 256>& byte_pairs() {
  static const auto pairs = [] {
    std::array<std::array<float, 2>, 256> p{};
    for (int b = 0; b < 256; b++) p[size_t(b)] = {nf4_table()[size_t(b >> 4)], nf4_table()[size_t(b & 15)]};
    return p;
  }();
  return pairs;
}

}  // namespace

void nf4_dequant_v1_scalar(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  check_args(n, blocksize, "nf4_dequant_v1_scalar");
  for (int64_t b = 0; b < num_blocks(n, blocksize); b++)
    dequantize_block_nf4(packed + b * blocksize / 2, absmax[b], std::min(blocksize, n - b * blocksize), out + b * blocksize);
}

// out[2j], out[2j + 1] = pairs[packed_j] * a
void nf4_dequant_v2_byte_lut(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  check_args(n, blocksize, "nf4_dequant_v2_byte_lut");
  const auto& pairs = byte_pairs();
  for (int64_t b = 0; b < num_blocks(n, blocksize); b++) {
    const int64_t begin = b * blocksize, len = std::min(blocksize, n - begin);
    const float a = absmax[b];
    const uint8_t* p = packed + begin / 2;
    float* o = out + begin;
    for (int64_t j = 0; j < len / 2; j++) {
      const std::array<float, 2>& v = pairs[p[j]];
      o[2 * j] = v[0] * a;
      o[2 * j + 1] = v[1] * a;
    }
    if (len % 2) o[len - 1] = pairs[p[len / 2]][0] * a;
  }
}

void nf4_dequant_v3_avx2(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  check_args(n, blocksize, "nf4_dequant_v3_avx2");
  require_isa(Isa::avx2_fma, "nf4_dequant_v3_avx2");
#if LAB_NF4_X86
  blocks_avx2(packed, absmax, n, blocksize, out, 0, num_blocks(n, blocksize));
#endif
}

void nf4_dequant_v3_avx512(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  check_args(n, blocksize, "nf4_dequant_v3_avx512");
  require_isa(Isa::avx512f, "nf4_dequant_v3_avx512");
#if LAB_NF4_X86
  blocks_avx512(packed, absmax, n, blocksize, out, 0, num_blocks(n, blocksize));
#endif
}

// Threads take runs of whole blocks, 256K values each (about 20 us of v3's work): below two such runs,
// one thread, since starting and joining the threads costs microseconds, and on a shared machine a
// worker whose core runs someone else can hold the join for a whole time slice.
void nf4_dequant_v4_simd_omp(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  check_args(n, blocksize, "nf4_dequant_v4_simd_omp");
  const int64_t blocks = num_blocks(n, blocksize);
  const int64_t per_task = std::max<int64_t>(1, (int64_t(1) << 18) / blocksize);
  const int64_t tasks = (blocks + per_task - 1) / per_task;
  const Isa isa = best_isa();
  (void)nf4_table();  // built before the threads start
#pragma omp parallel for schedule(static) if (tasks > 1 && !omp_in_parallel())
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t b0 = t * per_task, b1 = std::min(blocks, b0 + per_task);
#if LAB_NF4_X86
    if (isa == Isa::avx512f) {
      blocks_avx512(packed, absmax, n, blocksize, out, b0, b1);
      continue;
    }
    if (isa == Isa::avx2_fma) {
      blocks_avx2(packed, absmax, n, blocksize, out, b0, b1);
      continue;
    }
#endif
    (void)isa;
    for (int64_t b = b0; b < b1; b++)
      dequantize_block_nf4(packed + b * blocksize / 2, absmax[b], std::min(blocksize, n - b * blocksize), out + b * blocksize);
  }
}

void nf4_decode_run(const uint8_t* packed, const float* absmax, int64_t blocksize, int64_t start, int64_t len, float* out, Isa isa) {
#if LAB_NF4_X86
  if (isa == Isa::avx512f) return run_avx512(packed, absmax, blocksize, start, len, out);
  if (isa == Isa::avx2_fma) return run_avx2(packed, absmax, blocksize, start, len, out);
#endif
  (void)isa;
  for (int64_t i = 0; i < len; i++) out[i] = nf4_value_at(packed, absmax, blocksize, start + i);
}

const std::vector<Nf4DequantVersion>& nf4_dequant_versions() {
  static const std::vector<Nf4DequantVersion> versions = [] {
    std::vector<Nf4DequantVersion> v = {
        {"v1_scalar", "the reference: per value a shift or mask, a table load, a multiply", nf4_dequant_v1_scalar},
        {"v2_byte_lut", "256 float pairs: one load per byte gives both of its values", nf4_dequant_v2_byte_lut}};
    if (has_isa(Isa::avx2_fma))
      v.push_back({"v3_avx2", "16 values a step: nibbles -> indices, vpermps on two table halves + blend", nf4_dequant_v3_avx2});
    if (has_isa(Isa::avx512f))
      v.push_back({"v3_avx512", "16 values a step: the whole table in one zmm, one vpermps", nf4_dequant_v3_avx512});
    v.push_back({"v4_simd_omp", "the best SIMD version on every core (OpenMP over blocks)", nf4_dequant_v4_simd_omp});
    return v;
  }();
  return versions;
}

}  // namespace lab::quant
