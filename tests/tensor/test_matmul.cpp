// lab::matmul and every CPU matmul version (v4, v5 with each micro-kernel) against the naive triple loop,
// on odd sizes, transposed and strided views and batched shapes.
#include <catch2/catch.hpp>

#include "tensor/all.h"
#include "tensor/matmul_cpu.h"

#include <omp.h>

#include <cmath>

using namespace lab;

// Largest |a - b| / (|b| + 1): a mixed absolute/relative error that does not blow up near zero.
static double max_err(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double e = 0;
  for (size_t i = 0; i < a.size(); i++) e = std::max(e, std::fabs(double(a[i]) - b[i]) / (std::fabs(double(b[i])) + 1));
  return e;
}

static std::vector<float> naive(const Tensor& a, const Tensor& b) {
  int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  std::vector<float> c(size_t(M * N));
  Tensor ac = a.contiguous(), bc = b.contiguous();
  matmul_naive<float>(ac.data<float>(), bc.data<float>(), c.data(), M, N, K);
  return c;
}

// Error bound for f32 products: f32 sums of K products, in whatever order a kernel adds them, differ
// from the f64 reference by at most about K * eps_f32 * sum_k |a_ik| |b_kj| (Higham, Accuracy and Stability, 3.1); we allow
// 1e-5 * K * max|a| * max|b| (eps_f32 = 6e-8, so more than 100x headroom, yet a wrong or missing
// term of size |a||b| ~ 1 still fails it for every K below 1e5).

// C = A B in f64 through the naive loop, A and B read element by element through their views.
static std::vector<double> naive_f64(const Tensor& a, const Tensor& b) {
  Tensor ad = a.to(DType::f64).contiguous(), bd = b.to(DType::f64).contiguous();
  int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  std::vector<double> c(size_t(M * N));
  matmul_naive<double>(ad.data<double>(), bd.data<double>(), c.data(), M, N, K);
  return c;
}

static double max_abs(const Tensor& t) {
  double m = 0;
  for (float v : t.to_vector<float>()) m = std::max(m, double(std::fabs(v)));
  return m;
}

// Checks c (row-major [M, N]) against the f64 product within the bound above.
static void check_product(const std::vector<float>& c, const Tensor& a, const Tensor& b) {
  std::vector<double> want = naive_f64(a, b);
  REQUIRE(c.size() == want.size());
  const double K = double(a.size(1));
  const double bound = 1e-5 * std::max(K, 1.0) * std::max(max_abs(a) * max_abs(b), 1e-30);
  double err = 0;
  for (size_t i = 0; i < c.size(); i++) err = std::max(err, std::fabs(double(c[i]) - want[i]));
  INFO("max |error| " << err << " bound " << bound);
  CHECK(err <= bound);
}

static MatrixRefF32 ref(const Tensor& t) { return MatrixRefF32{t.data<float>(), t.stride(0), t.stride(1)}; }

TEST_CASE("matmul matches the triple loop on odd sizes") {
  Generator g(11);
  for (int64_t M : {1, 7, 33, 129})
    for (int64_t K : {1, 7, 33, 129})
      for (int64_t N : {1, 7, 33, 129}) {
        Tensor a = randn({M, K}, g), b = randn({K, N}, g);
        Tensor c = matmul(a, b);
        REQUIRE(c.shape() == Shape{M, N});
        INFO("M=" << M << " K=" << K << " N=" << N);
        check_product(c.to_vector<float>(), a, b);
      }
}

TEST_CASE("matmul on a size past the blocks and threads, and f64") {
  Generator g(12);
  Tensor a = randn({300, 513}, g), b = randn({513, 260}, g);
  check_product(matmul(a, b).to_vector<float>(), a, b);
  // f64 against the triple loop in f64: agreement to f64 rounding, far below f32's.
  Tensor ad = a.to(DType::f64), bd = b.to(DType::f64);
  std::vector<double> want(300 * 260);
  matmul_naive<double>(ad.data<double>(), bd.data<double>(), want.data(), 300, 260, 513);
  std::vector<double> got = matmul(ad, bd).to_vector<double>();
  double err = 0;
  for (size_t i = 0; i < want.size(); i++) err = std::max(err, std::fabs(got[i] - want[i]) / (std::fabs(want[i]) + 1));
  CHECK(err < 1e-12);
}

TEST_CASE("matmul of transposed views") {
  Generator g(13);
  Tensor a = randn({9, 5}, g), b = randn({7, 9}, g);
  // a^T b^T = (b a)^T
  Tensor c = matmul(a.t(), b.t());
  Tensor want = matmul(b, a).t().contiguous();
  CHECK(c.to_vector<float>() == want.to_vector<float>());
}

TEST_CASE("batched matmul broadcasts batch dims") {
  Generator g(14);
  Tensor a = randn({2, 1, 5, 3}, g);
  Tensor b = randn({4, 3, 6}, g);
  Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 4, 5, 6});
  for (int64_t i = 0; i < 2; i++)
    for (int64_t j = 0; j < 4; j++) {
      std::vector<float> want = naive(a.select(0, i).select(0, 0), b.select(0, j));
      CHECK(max_err(c.select(0, i).select(0, j).contiguous().to_vector<float>(), want) < 1e-6);
    }
  // A 2-D matrix against a batch, and the reverse.
  Tensor w = randn({3, 6}, g);
  Tensor x = randn({4, 5, 3}, g);
  Tensor y = matmul(x, w);
  REQUIRE(y.shape() == Shape{4, 5, 6});
  CHECK(max_err(y.select(0, 3).contiguous().to_vector<float>(), naive(x.select(0, 3), w)) < 1e-6);
}

TEST_CASE("matmul with vectors drops their dim, as torch.matmul") {
  Tensor m = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor v = from_vector<float>({1, 0, -1});
  CHECK(matmul(m, v).shape() == Shape{2});
  CHECK(matmul(m, v).to_vector<float>() == std::vector<float>{-2, -2});
  CHECK(matmul(from_vector<float>({1, 1}), m).to_vector<float>() == std::vector<float>{5, 7, 9});
  CHECK(matmul(v, v).shape() == Shape{});
  CHECK(matmul(v, v).item<float>() == 2);
  CHECK(matmul(zeros({2, 0}), zeros({0, 3})).to_vector<float>() == std::vector<float>(6, 0.0f));
}

TEST_CASE("matmul errors name both shapes") {
  CHECK_THROWS_WITH(matmul(zeros({2, 3}), zeros({4, 5})), Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), Catch::Contains("cannot be broadcast"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2}), zeros({2, 2}, DType::f64)), Catch::Contains("dtypes differ"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2}, DType::bf16), zeros({2, 2}, DType::bf16)), Catch::Contains("HINT"));
  CHECK_THROWS_WITH(matmul(scalar(1), zeros({2})), Catch::Contains("at least 1 dim"));
}

// --- the packed SIMD versions (v4, v5) with every micro-kernel this CPU runs, on strided operands.

TEST_CASE("v4 and v5 match the f64 triple loop on odd shapes, for every micro-kernel") {
  Generator g(21);
  struct MNK { int64_t M, N, K; };
  for (MNK s : {MNK{1, 1, 1}, MNK{7, 13, 5}, MNK{65, 129, 31}, MNK{300, 17, 257}, MNK{6, 16, 300}, MNK{13, 33, 1}, MNK{97, 400, 530}})
    for (Isa isa : supported_isas()) {
      INFO("M=" << s.M << " N=" << s.N << " K=" << s.K << " isa=" << isa_name(isa));
      Tensor a = randn({s.M, s.K}, g), b = randn({s.K, s.N}, g);
      std::vector<float> c4(size_t(s.M * s.N), -1.0f), c5(size_t(s.M * s.N), -1.0f);
      matmul_v4_packed_simd(ref(a), ref(b), c4.data(), s.M, s.N, s.K, isa);
      matmul_v5_packed_simd_omp(ref(a), ref(b), c5.data(), s.M, s.N, s.K, isa);
      check_product(c4, a, b);
      check_product(c5, a, b);
    }
}

TEST_CASE("v4 and v5 with K = 0 write zeros") {
  for (Isa isa : supported_isas()) {
    std::vector<float> a(1), b(1), c(5 * 3, 7.0f);
    matmul_v4_packed_simd({a.data(), 0, 1}, {b.data(), 3, 1}, c.data(), 5, 3, 0, isa);
    CHECK(c == std::vector<float>(15, 0.0f));
    c.assign(15, 7.0f);
    matmul_v5_packed_simd_omp({a.data(), 0, 1}, {b.data(), 3, 1}, c.data(), 5, 3, 0, isa);
    CHECK(c == std::vector<float>(15, 0.0f));
  }
}

TEST_CASE("v4 and v5 read transposed and strided views in place") {
  Generator g(22);
  for (Isa isa : supported_isas()) {
    INFO("isa=" << isa_name(isa));
    // A^T and B^T of row-major storage: col_stride != 1.
    Tensor at = randn({31, 65}, g), bt = randn({129, 31}, g);
    Tensor a = at.t(), b = bt.t();  // [65, 31], [31, 129]
    std::vector<float> c(65 * 129);
    matmul_v4_packed_simd(ref(a), ref(b), c.data(), 65, 129, 31, isa);
    check_product(c, a, b);
    matmul_v5_packed_simd_omp(ref(a), ref(b), c.data(), 65, 129, 31, isa);
    check_product(c, a, b);
    // The layouts v4 packs A for (matmul_packed.cpp, should_pack_a): a big transposed A, and a
    // row-major A whose row stride is a multiple of 4 KiB (rows in the same cache sets).
    Tensor big_t = randn({300, 257}, g).t(), bb = randn({300, 40}, g);  // A [257, 300], col stride 257
    std::vector<float> cb(257 * 40);
    matmul_v4_packed_simd(ref(big_t), ref(bb), cb.data(), 257, 40, 300, isa);
    check_product(cb, big_t, bb);
    Tensor wide = randn({20, 1024}, g), bw = randn({1024, 19}, g);
    std::vector<float> cw(20 * 19);
    matmul_v4_packed_simd(ref(wide), ref(bw), cw.data(), 20, 19, 1024, isa);
    check_product(cw, wide, bw);
    // Every other row and column of a bigger matrix: both strides != 1 and != the width.
    Tensor big_a = randn({40, 46}, g), big_b = randn({46, 300}, g);
    Tensor sa = big_a.slice(0, 0, 40, 2).slice(1, 1, 46, 2), sb = big_b.slice(0, 1, 46, 2).slice(1, 0, 300, 3);
    std::vector<float> cs(size_t(sa.size(0) * sb.size(1)));
    matmul_v4_packed_simd(ref(sa), ref(sb), cs.data(), sa.size(0), sb.size(1), sa.size(1), isa);
    check_product(cs, sa, sb);
  }
}

TEST_CASE("lab::matmul passes views through and batches with broadcast") {
  Generator g(23);
  // x W^T as nn::Linear does it, with a batch of 3 in front of x.
  Tensor x = randn({3, 37, 64}, g), w = randn({96, 64}, g);
  Tensor y = matmul(x, w.t());
  REQUIRE(y.shape() == Shape{3, 37, 96});
  for (int64_t i = 0; i < 3; i++) check_product(y.select(0, i).contiguous().to_vector<float>(), x.select(0, i), w.t());
  // Attention's q k^T: [B, H, T, hd] @ [B, H, hd, T] with k transposed, and a broadcast batch dim.
  Tensor q = randn({2, 4, 19, 8}, g), k = randn({2, 1, 19, 8}, g);
  Tensor s = matmul(q, k.transpose(-1, -2));
  REQUIRE(s.shape() == Shape{2, 4, 19, 19});
  for (int64_t bi = 0; bi < 2; bi++)
    for (int64_t h = 0; h < 4; h++)
      check_product(s.select(0, bi).select(0, h).contiguous().to_vector<float>(), q.select(0, bi).select(0, h),
                    k.select(0, bi).select(0, 0).t());
  // Many small products (the batch-parallel path) and a few large ones (threads inside each).
  for (int64_t nb : {int64_t(64), int64_t(2)}) {
    int64_t n = nb == 64 ? 24 : 150;
    Tensor a = randn({nb, n, n + 3}, g), b = randn({n + 3, n - 1}, g);
    Tensor c = matmul(a.transpose(-1, -2).transpose(-1, -2), b);
    for (int64_t i : {int64_t(0), nb - 1}) check_product(c.select(0, i).contiguous().to_vector<float>(), a.select(0, i), b);
  }
}

TEST_CASE("micro-kernel choice names the CPU's best and refuses what it lacks") {
  std::vector<Isa> isas = supported_isas();
  REQUIRE(!isas.empty());
  CHECK(isas.back() == Isa::scalar);
  CHECK(best_isa() == isas.front());
  if (std::find(isas.begin(), isas.end(), Isa::avx512f) == isas.end())
    CHECK_THROWS_WITH(micro_kernel(Isa::avx512f), Catch::Contains("HINT"));
}

TEST_CASE("lab::matmul folds a batch of rows into one product only when the rows are evenly spaced") {
  Generator g(24);
  Tensor w = randn({20, 33}, g);
  // Contiguous [4, 9, 20]: folds into [36, 20] @ [20, 33].
  Tensor x = randn({4, 9, 20}, g);
  Tensor y = matmul(x, w);
  for (int64_t i = 0; i < 4; i++) check_product(y.select(0, i).contiguous().to_vector<float>(), x.select(0, i), w);
  // A gap between the matrices (every other one of [8, 9, 20]): must not fold.
  Tensor big = randn({8, 9, 20}, g);
  Tensor xs = big.slice(0, 0, 8, 2);
  Tensor ys = matmul(xs, w);
  for (int64_t i = 0; i < 4; i++) check_product(ys.select(0, i).contiguous().to_vector<float>(), xs.select(0, i), w);
  // Transposed matrices in a batch ([4, 20, 9] viewed as [4, 9, 20]): rows are not evenly spaced.
  Tensor xt = randn({4, 20, 9}, g).transpose(-1, -2);
  Tensor yt = matmul(xt, w);
  for (int64_t i = 0; i < 4; i++) check_product(yt.select(0, i).contiguous().to_vector<float>(), xt.select(0, i), w);
  // A size-1 batch dim with an arbitrary stride, and a 1-row matrix.
  Tensor x1 = randn({3, 20}, g).unsqueeze(1);  // [3, 1, 20]
  Tensor y1 = matmul(x1, w);
  REQUIRE(y1.shape() == Shape{3, 1, 33});
  for (int64_t i = 0; i < 3; i++) check_product(y1.select(0, i).contiguous().to_vector<float>(), x1.select(0, i), w);
}

TEST_CASE("v5 on 3 threads: row chunks sharing one packed B, column chunks, uneven chunks") {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(3);  // whatever this machine has: 3 threads make chunks of unequal share
  Generator g(25);
  struct MNK { int64_t M, N, K; };
  // rows (B packed once, two KC blocks of K, an edge panel of B), columns, and rows with a transposed B
  for (MNK s : {MNK{301, 45, 400}, MNK{40, 333, 70}, MNK{257, 130, 129}}) {
    Tensor a = randn({s.M, s.K}, g);
    Tensor b = s.M == 257 ? randn({s.N, s.K}, g).t() : randn({s.K, s.N}, g);
    for (Isa isa : supported_isas()) {
      INFO("M=" << s.M << " N=" << s.N << " K=" << s.K << " isa=" << isa_name(isa));
      std::vector<float> c(size_t(s.M * s.N));
      matmul_v5_packed_simd_omp(ref(a), ref(b), c.data(), s.M, s.N, s.K, isa);
      check_product(c, a, b);
    }
  }
  omp_set_num_threads(saved);
}
