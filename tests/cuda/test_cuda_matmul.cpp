// Every numbered GPU matmul version of cuda/matmul.h (v1-v8), called directly on device pointers,
// against lab::matmul on the CPU, element by element within a bound that the arithmetic implies:
//
//   f32 versions:  |C - C_ref| <= 4 (K + 1) 2^-24 (|A| |B|)_ij   (both sides sum K f32 products,
//                  each within gamma_K = K 2^-24 of the exact sum; x2 for slack)
//   bf16 (v8):     |C - C_ref| <= (2 u + u^2) (|A| |B|)_ij + the f32 term above,  u = 2^-8 (bf16's
//                  unit roundoff: each factor rounds within a relative u, so each product within 2u + u^2)
//
// Shapes: every (M, N, K) in {1, 17, 129, 1000}^3, shapes that take the float4 path of v6-v8 (K and
// N multiples of 4, pointers aligned) next to one that does not (a pointer one float off), K = 0,
// batches with B broadcast (stride 0), and grids past 65535 blocks in y and z. C starts as NaN, so
// an element a kernel forgets to write fails. Run only where a GPU is present (cuda_test_main.cpp).
#include <catch2/catch.hpp>

#include "cuda/matmul.h"
#include "tensor/all.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);

using VersionF32 = void (*)(float*, const float*, const float*, const cuda::MatmulShape&);
struct Version {
  const char* name;
  VersionF32 fn;
  bool bf16;  // rounds its inputs to bf16: the looser bound
};

const std::vector<Version> versions = {
    {"v1_naive_f32", cuda::matmul_v1_naive_f32, false},
    {"v2_coalesced_f32", cuda::matmul_v2_coalesced_f32, false},
    {"v3_smem_tiled_f32", cuda::matmul_v3_smem_tiled_f32, false},
    {"v4_blocktiling_1d_f32", cuda::matmul_v4_blocktiling_1d_f32, false},
    {"v5_blocktiling_2d_f32", cuda::matmul_v5_blocktiling_2d_f32, false},
    {"v6_vectorized_f32", cuda::matmul_v6_vectorized_f32, false},
    {"v7_warptiling_f32", cuda::matmul_v7_warptiling_f32, false},
    {"matmul_f32 (what lab::matmul calls)", cuda::matmul_f32, false},
    {"v8_bf16_wmma", cuda::matmul_v8_bf16_wmma, true},
};

struct Case {
  int64_t batch, M, N, K;
  bool broadcast_b;
};

// One product's inputs on both devices, its CPU reference and sum_k |A||B| for the bounds.
template <typename T> struct Problem {
  Case c;
  Tensor a, b, want, abs_prod;
  Tensor ga, gb;
  explicit Problem(const Case& cs) : c(cs) {
    const DType d = dtype_of<T>();
    Generator gen(uint64_t(cs.batch * 1000003 + cs.M * 1009 + cs.N * 101 + cs.K));
    a = randn({cs.batch, cs.M, cs.K}, gen, d);
    b = randn({cs.broadcast_b ? 1 : cs.batch, cs.K, cs.N}, gen, d);
    want = matmul(a, b);
    abs_prod = matmul(abs(a), abs(b));
    ga = a.to(gpu), gb = b.to(gpu);
  }
  cuda::MatmulShape shape() const { return {c.batch, c.M, c.N, c.K, c.M * c.K, c.broadcast_b ? 0 : c.K * c.N}; }
};

// Every element of got within bound_scale * abs_prod of want (NaN, an unwritten element, fails).
void require_within_bound(const Tensor& got, const Tensor& want, const Tensor& abs_prod, double bound_scale) {
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>(), p = abs_prod.to_vector<double>();
  REQUIRE(g.size() == w.size());
  for (size_t i = 0; i < w.size(); i++) {
    const double bound = bound_scale * p[i] + 1e-30;
    if (!(std::abs(g[i] - w[i]) <= bound))
      FAIL("element " << i << " of " << w.size() << ": got " << g[i] << ", want " << w[i] << ", allowed error " << bound);
  }
}

// The bound's scale for a version (see the top of the file).
double bound_scale(bool bf16, int64_t K) {
  const double f32_term = 4.0 * double(K + 1) * std::ldexp(1.0, -24);
  const double u = std::ldexp(1.0, -8);
  return bf16 ? 2 * u + u * u + f32_term : f32_term;
}

template <typename T> Tensor nan_output(const Case& c) {
  return full({c.batch, c.M, c.N}, std::numeric_limits<double>::quiet_NaN(), dtype_of<T>(), gpu);
}

void check_all_versions(const Case& cs) {
  const Problem<float> p(cs);
  for (const Version& v : versions) {
    INFO("matmul " << v.name << ": batch " << cs.batch << " M " << cs.M << " N " << cs.N << " K " << cs.K << " broadcast B "
                   << cs.broadcast_b);
    const Tensor gc = nan_output<float>(cs);
    v.fn(gc.data<float>(), p.ga.data<float>(), p.gb.data<float>(), p.shape());
    require_within_bound(gc, p.want, p.abs_prod, bound_scale(v.bf16, cs.K));
  }
}

}  // namespace

TEST_CASE("every numbered matmul version matches the CPU on odd sizes 1 17 129 1000", "[cuda][matmul]") {
  const std::vector<int64_t> sizes = {1, 17, 129, 1000};
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : sizes) check_all_versions({1, M, N, K, false});
}

TEST_CASE("every numbered matmul version matches the CPU on batches, broadcast B, K = 0 and huge grids", "[cuda][matmul]") {
  check_all_versions({3, 33, 7, 129, false});
  check_all_versions({4, 129, 33, 7, true});      // B broadcast: stride_b = 0
  check_all_versions({5, 17, 20, 12, true});      // broadcast, and float4-aligned (K, N, strides multiples of 4)
  check_all_versions({2, 5, 7, 0, false});        // K = 0: C must be written as zeros
  check_all_versions({70000, 2, 3, 2, false});    // batch > 65535: two launches along gridDim.z
  check_all_versions({1, 2097123, 3, 2, false});  // more row blocks of v1-v3 than gridDim.y allows: several launches
}

TEST_CASE("v6 v7 v8 take the float4 path where aligned and agree on both paths", "[cuda][matmul]") {
  // Aligned shapes: K and N multiples of 4 but not of any tile, M odd.
  for (const Case& cs : {Case{1, 17, 20, 12, false}, Case{1, 129, 132, 1000, false}, Case{1, 1, 4, 4, false}, Case{2, 3, 8, 36, false}}) {
    const Problem<float> p(cs);
    const Tensor gc = nan_output<float>(cs);
    CHECK(cuda::matmul_float4_aligned(gc.data<float>(), p.ga.data<float>(), p.gb.data<float>(), p.shape()));
    check_all_versions(cs);
  }
  // The same aligned shape with A one float off a 16-byte boundary: the scalar path.
  const Case cs{1, 129, 132, 1000, false};
  Generator gen(11);
  const Tensor flat = randn({cs.M * cs.K + 1}, gen);
  const Tensor a = flat.narrow(0, 1, cs.M * cs.K).reshape({1, cs.M, cs.K}), b = randn({1, cs.K, cs.N}, gen);
  const Tensor g_flat = flat.to(gpu), gb = b.to(gpu);
  const Tensor want = matmul(a, b), abs_prod = matmul(abs(a), abs(b));
  const cuda::MatmulShape s{1, cs.M, cs.N, cs.K, cs.M * cs.K, cs.K * cs.N};
  for (const Version& v : versions) {
    INFO("matmul " << v.name << " with A one float off alignment");
    const Tensor gc = nan_output<float>(cs);
    CHECK_FALSE(cuda::matmul_float4_aligned(gc.data<float>(), g_flat.data<float>() + 1, gb.data<float>(), s));
    v.fn(gc.data<float>(), g_flat.data<float>() + 1, gb.data<float>(), s);
    require_within_bound(gc, want, abs_prod, bound_scale(v.bf16, cs.K));
  }
}

TEST_CASE("the bf16 tensor-core version is near f32 but not f32-exact", "[cuda][matmul]") {
  // Relative Frobenius error of random normal products: bf16 rounding gives about 2^-8 / sqrt(3) *
  // sqrt(2) = 0.003; f32 about 1e-7. Both sides of that gap are checked, so a v8 that silently
  // computed in f32 (or in something worse than bf16) fails.
  const Problem<float> p({1, 256, 256, 256, false});
  auto rel = [&](VersionF32 fn) {
    const Tensor gc = nan_output<float>(p.c);
    fn(gc.data<float>(), p.ga.data<float>(), p.gb.data<float>(), p.shape());
    const std::vector<double> g = gc.to_vector<double>(), w = p.want.to_vector<double>();
    double diff = 0, norm = 0;
    for (size_t i = 0; i < w.size(); i++) diff += (g[i] - w[i]) * (g[i] - w[i]), norm += w[i] * w[i];
    return std::sqrt(diff / norm);
  };
  const double bf16_error = rel(cuda::matmul_v8_bf16_wmma), f32_error = rel(cuda::matmul_f32);
  CHECK(bf16_error > 1e-4);
  CHECK(bf16_error < 1e-2);
  CHECK(f32_error < 1e-5);
}

TEST_CASE("the f64 matmul matches the CPU on odd sizes and broadcast batches", "[cuda][matmul]") {
  const std::vector<int64_t> sizes = {1, 17, 129};
  std::vector<Case> cases = {{3, 33, 7, 129, false}, {4, 129, 33, 7, true}, {1, 1000, 17, 1000, false}, {70000, 2, 3, 2, false}};
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : sizes) cases.push_back({1, M, N, K, false});
  for (const Case& cs : cases) {
    INFO("matmul_v3_smem_tiled_f64: batch " << cs.batch << " M " << cs.M << " N " << cs.N << " K " << cs.K);
    const Problem<double> p(cs);
    const Tensor gc = nan_output<double>(cs);
    cuda::matmul_f64(gc.data<double>(), p.ga.data<double>(), p.gb.data<double>(), p.shape());
    require_within_bound(gc, p.want, p.abs_prod, 4.0 * double(cs.K + 1) * std::ldexp(1.0, -53));
  }
}
