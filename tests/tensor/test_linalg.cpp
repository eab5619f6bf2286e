// The SVD of tensor/linalg.h: reconstruction, orthonormal U and V, known spectra, rank,
// Eckart-Young, dtypes and the errors. Matrices are random f64 unless a test says otherwise;
// tolerances are absolute, for entries of size about 1 (1e-10 reconstruction, as the issue asks).
#include <catch2/catch.hpp>

#include "tensor/all.h"
#include "tensor/linalg.h"

#include <cmath>
#include <vector>

using namespace lab;

static double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double d = 0;
  for (size_t i = 0; i < x.size(); i++) d = std::max(d, std::fabs(x[i] - y[i]));
  return d;
}

static double frobenius(const Tensor& a) {
  double s = 0;
  for (double x : a.to_vector<double>()) s += x * x;
  return std::sqrt(s);
}

// max |Q^T Q - I| over the columns of Q [m, k].
static double orthonormality_error(const Tensor& Q) {
  Tensor gram = matmul(Q.t().contiguous(), Q);
  Tensor eye = zeros({Q.size(1), Q.size(1)}, DType::f64);
  for (int64_t i = 0; i < Q.size(1); i++) eye.at<double>({i, i}) = 1;
  return max_abs_diff(gram, eye);
}

// Everything an SVD of A [m, n] must satisfy, to `tol`.
static void check_svd(const Tensor& A, const SVD& s, double tol) {
  const int64_t m = A.size(0), n = A.size(1), k = std::min(m, n);
  REQUIRE(s.U.shape() == Shape{m, k});
  REQUIRE(s.S.shape() == Shape{k});
  REQUIRE(s.V.shape() == Shape{n, k});
  CHECK(s.U.dtype() == DType::f64);
  std::vector<double> S = s.S.to_vector<double>();
  for (int64_t i = 0; i < k; i++) {
    CHECK(S[size_t(i)] >= 0);
    if (i > 0) CHECK(S[size_t(i - 1)] >= S[size_t(i)]);
  }
  CHECK(max_abs_diff(low_rank_approx(s, k), A.to(DType::f64)) < tol);
  CHECK(orthonormality_error(s.U) < tol);
  CHECK(orthonormality_error(s.V) < tol);
}

TEST_CASE("svd reconstructs random tall, wide and square matrices, with orthonormal U and V") {
  Generator g(1);
  for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{50, 20}, {20, 50}, {33, 33}, {1, 7}, {7, 1}, {1, 1}, {64, 63}}) {
    INFO("A is [" << m << ", " << n << "]");
    Tensor A = randn({m, n}, g, DType::f64);
    check_svd(A, svd(A), 1e-10);
  }
}

TEST_CASE("svd of rank-deficient matrices completes U and V to orthonormal bases") {
  Generator g(2);
  for (auto [m, n, r] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{40, 30, 5}, {30, 40, 5}, {25, 25, 1}, {12, 9, 8}}) {
    INFO("A = B C with B [" << m << ", " << r << "], C [" << r << ", " << n << "]");
    Tensor A = matmul(randn({m, r}, g, DType::f64), randn({r, n}, g, DType::f64));
    SVD s = svd(A);
    check_svd(A, s, 1e-10);
    CHECK(matrix_rank(s) == r);
    CHECK(s.S.to_vector<double>()[size_t(r)] < 1e-12 * s.S.to_vector<double>()[0]);
  }
  SECTION("the zero matrix") {
    Tensor Z = zeros({6, 4}, DType::f64);
    SVD s = svd(Z);
    check_svd(Z, s, 1e-14);
    CHECK(matrix_rank(s) == 0);
  }
  SECTION("repeated columns") {
    Tensor col = randn({10, 1}, g, DType::f64);
    Tensor A = Tensor::empty({10, 6}, DType::f64);
    for (int64_t j = 0; j < 6; j++) A.slice(1, j, j + 1).copy_(col * double(j - 2));
    SVD s = svd(A);
    check_svd(A, s, 1e-10);
    CHECK(matrix_rank(s) == 1);
  }
}

TEST_CASE("svd finds the singular values of matrices with known spectra") {
  SECTION("diagonal, with a negative entry: S = |d| sorted") {
    Tensor D = zeros({4, 4}, DType::f64);
    std::vector<double> d = {3, -7, 0.5, 2};
    for (int64_t i = 0; i < 4; i++) D.at<double>({i, i}) = d[size_t(i)];
    SVD s = svd(D);
    check_svd(D, s, 1e-14);
    CHECK(max_abs_diff(s.S, from_vector<double>({7, 3, 2, 0.5})) < 1e-15);
  }
  SECTION("rectangular diagonal [3, 5]") {
    Tensor D = zeros({3, 5}, DType::f64);
    D.at<double>({0, 0}) = 1, D.at<double>({1, 1}) = 4, D.at<double>({2, 2}) = 2;
    CHECK(max_abs_diff(svd(D).S, from_vector<double>({4, 2, 1})) < 1e-15);
  }
  SECTION("orthogonal times diagonal times orthogonal, from Gram-Schmidt of random matrices") {
    Generator g(3);
    const int64_t m = 30, n = 20;
    Tensor Q1 = orthonormalize_columns(randn({m, m}, g, DType::f64));
    Tensor Q2 = orthonormalize_columns(randn({n, n}, g, DType::f64));
    CHECK(orthonormality_error(Q1) < 1e-14);
    CHECK(orthonormality_error(Q2) < 1e-14);
    // sigma_i = 100 * 0.6^i: a spread of 1e4 from the largest to the smallest
    std::vector<double> sigma(static_cast<size_t>(n));
    Tensor D = zeros({m, n}, DType::f64);
    for (int64_t i = 0; i < n; i++) D.at<double>({i, i}) = sigma[size_t(i)] = 100 * std::pow(0.6, double(i));
    for (Tensor A : {matmul(matmul(Q1, D), Q2.t().contiguous()), matmul(matmul(Q2, D.t().contiguous()), Q1.t().contiguous())}) {
      SVD s = svd(A);
      check_svd(A, s, 1e-10);
      std::vector<double> S = s.S.to_vector<double>();
      for (int64_t i = 0; i < n; i++) CHECK(std::fabs(S[size_t(i)] - sigma[size_t(i)]) < 1e-12 * sigma[0]);
    }
  }
}

TEST_CASE("the lesson's 4x4 has rank 1: the column [-2,-1,7,6] times the row [4,1,3,-3]") {
  Tensor A = from_vector<double>({-8, -2, -6, 6, -4, -1, -3, 3, 28, 7, 21, -21, 24, 6, 18, -18}, {4, 4});
  SVD s = svd(A);
  check_svd(A, s, 1e-12);
  CHECK(matrix_rank(A) == 1);
  CHECK(matrix_rank(s) == 1);
  // sigma_1 = |col| |row| = sqrt(90) sqrt(35)
  CHECK(s.S.to_vector<double>()[0] == Approx(std::sqrt(90.0 * 35.0)).epsilon(1e-14));
  CHECK(max_abs_diff(low_rank_approx(s, 1), A) < 1e-12);
  std::vector<double> col = {-2, -1, 7, 6}, row = {4, 1, 3, -3};
  const double sign = s.U.at<double>({0, 0}) < 0 ? 1 : -1;  // col[0] < 0
  for (int64_t i = 0; i < 4; i++) {
    CHECK(sign * s.U.at<double>({i, 0}) == Approx(col[size_t(i)] / std::sqrt(90.0)).epsilon(1e-12));
    CHECK(sign * s.V.at<double>({i, 0}) == Approx(row[size_t(i)] / std::sqrt(35.0)).epsilon(1e-12));
  }
}

TEST_CASE("Eckart-Young: the rank-r truncation's error is sqrt(sum of the dropped S^2), and beats other rank-r matrices") {
  Generator g(4);
  Tensor A = randn({40, 25}, g, DType::f64);
  SVD s = svd(A);
  std::vector<double> S = s.S.to_vector<double>();
  for (int64_t r : {0, 1, 5, 10, 24, 25}) {
    INFO("r = " << r);
    Tensor Ar = low_rank_approx(s, r);
    double dropped = 0;
    for (int64_t i = r; i < 25; i++) dropped += S[size_t(i)] * S[size_t(i)];
    CHECK(std::fabs(frobenius(A - Ar) - std::sqrt(dropped)) < 1e-10);
    CHECK(matrix_rank(Ar) == r);
    if (r > 0 && r < 25) {
      // Another rank-r matrix: A projected onto r random directions, P = Q Q^T, B = P A
      Tensor Q = orthonormalize_columns(randn({40, r}, g, DType::f64));
      Tensor B = matmul(Q, matmul(Q.t().contiguous(), A));
      CHECK(frobenius(A - B) > frobenius(A - Ar));
    }
  }
}

TEST_CASE("matrix_rank: NumPy's default tolerance and an explicit one") {
  Tensor D = zeros({3, 3}, DType::f64);
  D.at<double>({0, 0}) = 1, D.at<double>({1, 1}) = 1e-3, D.at<double>({2, 2}) = 1e-9;
  CHECK(matrix_rank(D) == 3);
  CHECK(matrix_rank(D, 1e-6) == 2);
  CHECK(matrix_rank(D, 1e-2) == 1);
  D.at<double>({2, 2}) = 1e-17;  // below S.max * 3 * eps = 6.7e-16
  CHECK(matrix_rank(D) == 2);
}

TEST_CASE("svd takes any floating dtype and computes in f64") {
  Generator g(5);
  Tensor A = randn({9, 6}, g, DType::f32);
  for (DType d : {DType::f32, DType::bf16, DType::f16}) {
    INFO(dtype_name(d));
    Tensor Ad = A.to(d);
    SVD s = svd(Ad);
    CHECK(s.S.dtype() == DType::f64);
    check_svd(Ad, s, 1e-10);  // exact in f64 for the values the dtype holds
    CHECK(max_abs_diff(s.S, svd(Ad.to(DType::f64)).S) == 0);
  }
  SECTION("a non-contiguous view") {
    Tensor At = A.t();
    check_svd(At, svd(At), 1e-10);
  }
}

TEST_CASE("svd and low_rank_approx refuse bad input with a clear error") {
  Generator g(6);
  CHECK_THROWS_WITH(svd(randn({4}, g)), Catch::Contains("expected a 2-D matrix"));
  CHECK_THROWS_WITH(svd(zeros({2, 2}, DType::i64)), Catch::Contains("floating dtype"));
  Tensor bad = zeros({3, 3}, DType::f64);
  bad.at<double>({1, 2}) = std::nan("");
  CHECK_THROWS_WITH(svd(bad), Catch::Contains("element [1, 2]"));
  CHECK_THROWS_WITH(svd(randn({20, 20}, g), 1), Catch::Contains("did not converge in 1 sweeps"));
  CHECK_THROWS_WITH(low_rank_approx(svd(randn({5, 3}, g)), 4), Catch::Contains("outside [0, 3]"));
  CHECK_THROWS_WITH(orthonormalize_columns(zeros({4, 2}, DType::f64)), Catch::Contains("rank deficient"));
}

TEST_CASE("svd of a matrix with no rows or no columns is empty, of rank 0") {
  for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {3, 0}}) {
    SVD s = svd(zeros({m, n}, DType::f32));
    CHECK(s.U.shape() == Shape{m, 0});
    CHECK(s.S.shape() == Shape{0});
    CHECK(s.V.shape() == Shape{n, 0});
    CHECK(matrix_rank(s) == 0);
    CHECK(low_rank_approx(s, 0).shape() == Shape{m, n});
  }
}
