// The SVD by one-sided Jacobi (Hestenes 1958; Demmel & Veselic 1992), matrix rank and truncation.
// Why Jacobi and not Golub-Kahan bidiagonalization + implicit QR (LAPACK's gesvd): it is one loop
// of 2x2 rotations a reader can check by hand, with no Householder reflectors, shifts or deflation;
// it is very accurate (small singular values keep a small relative error, Demmel & Veselic); and
// its few O(m n^2) sweeps cost nothing at the sizes lessons use.
// The idea: rotate pairs of columns of W = A V (V starts as I) until every pair is orthogonal; then
// the column norms are S, the normalized columns are U, and V has collected the rotations. Columns
// are stored contiguous (column-major), so each pair is two contiguous arrays.
#include "tensor/linalg.h"

#include "tensor/dtype.h"
#include "tensor/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace lab {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// A as row-major f64 on the host, checked: 2-D, floating, finite.
std::vector<double> host_matrix(const Tensor& A, const char* op) {
  LAB_CHECK(A.defined(), "{}: the matrix is an undefined tensor", op);
  LAB_CHECK(A.dim() == 2, "{}: expected a 2-D matrix [m, n], got shape {} (HINT: reshape a batch to 2-D first)", op,
            shape_str(A.shape()));
  LAB_CHECK(is_floating(A.dtype()), "{}: expected a floating dtype (f32, f64, bf16, f16), got {} (HINT: .to(DType::f64))", op,
            dtype_name(A.dtype()));
  std::vector<double> a = A.to_vector<double>();  // copies a CUDA tensor to the host, any float dtype to f64
  for (size_t i = 0; i < a.size(); i++)
    LAB_CHECK(std::isfinite(a[i]), "{}: element [{}, {}] of the [{}, {}] matrix is {}; the SVD needs finite values", op,
              int64_t(i) / A.size(1), int64_t(i) % A.size(1), A.size(0), A.size(1), a[i]);
  return a;
}

double dot(const double* x, const double* y, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // four sums, so the loop is not one long dependency chain
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) s0 += x[i] * y[i], s1 += x[i + 1] * y[i + 1], s2 += x[i + 2] * y[i + 2], s3 += x[i + 3] * y[i + 3];
  for (; i < n; i++) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}

// v -= sum_c (q_c . v) q_c over the orthonormal columns q_c, done twice (the second pass removes
// what rounding left after the first); returns ||v|| afterwards.
double orthogonalize(double* v, const std::vector<const double*>& basis, int64_t m) {
  for (int pass = 0; pass < 2; pass++)
    for (const double* q : basis) {
      const double proj = dot(q, v, m);
      for (int64_t i = 0; i < m; i++) v[i] -= proj * q[i];
    }
  return std::sqrt(dot(v, v, m));
}

// The thin SVD of a tall (m >= n) row-major matrix; U and V column-major, unsorted.
struct ColumnSVD {
  std::vector<double> U, S, V;  // U: n columns of length m (W = A V, made U by finish()); V: n columns of length n
  double zero = 0;              // S_j at most this is a zero column (kZeroColumn in A's units)
};

// A column of W shorter than this (after scaling A's largest entry to 1) is exactly zero for our
// purposes: it is never rotated (its cosines would be 0/0) and its U column is completed in finish().
// Anything above it is rotated, however small: rotations are accurate relative to the shorter
// column, so a column that is zero up to rounding ends up orthogonal to the others too.
constexpr double kZeroColumn = 1e-150;

ColumnSVD jacobi_tall(const std::vector<double>& a, int64_t m, int64_t n, int max_sweeps) {
  ColumnSVD r;
  // Scale so the largest |entry| is 1: no squared norm below can overflow or underflow.
  double scale = 0;
  for (double x : a) scale = std::max(scale, std::fabs(x));
  if (scale == 0) scale = 1;
  r.zero = kZeroColumn * scale;
  std::vector<double>& W = r.U;  // W = A V / scale, rotated in place; its normalized columns become U
  W.resize(size_t(m * n));
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) W[size_t(j * m + i)] = a[size_t(i * n + j)] / scale;
  r.V.assign(size_t(n * n), 0.0);
  for (int64_t j = 0; j < n; j++) r.V[size_t(j * n + j)] = 1.0;
  // Converged when every pair has |cos(angle)| = |w_p . w_q| / (|w_p| |w_q|) <= tol (LAPACK's dgesvj uses sqrt(m) eps).
  const double tol = std::sqrt(double(m)) * kEps;

  double worst = 0;
  for (int sweep = 0; sweep < max_sweeps; sweep++) {
    worst = 0;
    for (int64_t p = 0; p + 1 < n; p++)
      for (int64_t q = p + 1; q < n; q++) {
        double* wp = &W[size_t(p * m)];
        double* wq = &W[size_t(q * m)];
        const double alpha = dot(wp, wp, m), beta = dot(wq, wq, m), gamma = dot(wp, wq, m);
        if (std::sqrt(alpha) <= kZeroColumn || std::sqrt(beta) <= kZeroColumn) continue;
        const double cosine = std::fabs(gamma) / (std::sqrt(alpha) * std::sqrt(beta));
        if (cosine <= tol) continue;
        worst = std::max(worst, cosine);
        // The rotation [c s; -s c] that diagonalizes the Gram matrix [alpha gamma; gamma beta]:
        // zeta = (beta - alpha) / (2 gamma), t = tan(theta) = sign(zeta) / (|zeta| + sqrt(1 + zeta^2))
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::hypot(1.0, zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        // [w_p, w_q] <- [c w_p - s w_q, s w_p + c w_q], and the same for the columns of V
        for (int64_t i = 0; i < m; i++) {
          const double x = wp[i], y = wq[i];
          wp[i] = c * x - s * y, wq[i] = s * x + c * y;
        }
        double* vp = &r.V[size_t(p * n)];
        double* vq = &r.V[size_t(q * n)];
        for (int64_t i = 0; i < n; i++) {
          const double x = vp[i], y = vq[i];
          vp[i] = c * x - s * y, vq[i] = s * x + c * y;
        }
      }
    if (worst == 0) {  // a sweep without a rotation: every pair is orthogonal
      r.S.resize(size_t(n));
      for (int64_t j = 0; j < n; j++) r.S[size_t(j)] = std::sqrt(dot(&W[size_t(j * m)], &W[size_t(j * m)], m));
      for (double& w : W) w *= scale;  // W = A V again, so that w_j / S_j below is U's column
      for (double& x : r.S) x *= scale;
      return r;
    }
  }
  LAB_FAIL("svd: one-sided Jacobi did not converge in {} sweeps on a [{}, {}] matrix: after the last sweep a pair of columns "
           "still had |cos| = {:.3e}, above the tolerance {:.3e} (HINT: pass a larger max_sweeps; a badly scaled matrix may "
           "need to be rescaled first)",
           max_sweeps, m, n, worst, tol);
}

// Sort by S descending, normalize U's columns, complete those whose singular value is zero up to
// rounding, and write U [rows, n], S [n], V [cols, n] as row-major f64 tensors.
SVD finish(const ColumnSVD& r, int64_t m, int64_t n) {
  const double tiny = r.zero;  // the test the sweeps used: such columns were never rotated against the others
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return r.S[size_t(x)] > r.S[size_t(y)]; });

  std::vector<double> U(size_t(m * n));  // column-major, sorted
  std::vector<const double*> done;       // U's finished columns, orthonormal
  std::vector<int64_t> zero_columns;
  for (int64_t j = 0; j < n; j++) {
    const int64_t from = order[size_t(j)];
    const double sigma = r.S[size_t(from)];
    double* u = &U[size_t(j * m)];
    if (sigma <= tiny) {
      zero_columns.push_back(j);
      continue;
    }
    for (int64_t i = 0; i < m; i++) u[i] = r.U[size_t(from * m + i)] / sigma;  // u_j = w_j / sigma_j
    done.push_back(u);
  }
  // A zero singular value leaves w_j without a reliable direction: keep w_j if at least half of it
  // is left once made orthogonal to the finished columns, else take the next unit vector e_i with
  // a residual >= 1/(2 sqrt(m)) (one exists: the squared residuals of all e_i sum to m - |done| >= 1).
  int64_t next_e = 0;
  for (int64_t j : zero_columns) {
    const int64_t from = order[size_t(j)];
    double* u = &U[size_t(j * m)];
    const double sigma = r.S[size_t(from)];
    double norm = 0;
    if (sigma > 0) {
      for (int64_t i = 0; i < m; i++) u[i] = r.U[size_t(from * m + i)] / sigma;
      norm = orthogonalize(u, done, m);
      if (norm < 0.5) norm = 0;
    }
    while (norm == 0) {
      LAB_ASSERT(next_e < m);
      std::fill(u, u + m, 0.0);
      u[next_e++] = 1.0;
      norm = orthogonalize(u, done, m);
      if (norm < 0.5 / std::sqrt(double(m))) norm = 0;
    }
    for (int64_t i = 0; i < m; i++) u[i] /= norm;
    done.push_back(u);
  }

  SVD out{Tensor::empty({m, n}, DType::f64), Tensor::empty({n}, DType::f64), Tensor::empty({n, n}, DType::f64)};
  double* pu = out.U.data<double>();
  double* ps = out.S.data<double>();
  double* pv = out.V.data<double>();
  for (int64_t j = 0; j < n; j++) {
    const int64_t from = order[size_t(j)];
    ps[j] = r.S[size_t(from)];
    for (int64_t i = 0; i < m; i++) pu[i * n + j] = U[size_t(j * m + i)];
    for (int64_t i = 0; i < n; i++) pv[i * n + j] = r.V[size_t(from * n + i)];
  }
  return out;
}

}  // namespace

SVD svd(const Tensor& A, int max_sweeps) {
  LAB_CHECK(max_sweeps > 0, "svd: max_sweeps must be positive, got {}", max_sweeps);
  std::vector<double> a = host_matrix(A, "svd");
  const int64_t m = A.size(0), n = A.size(1);
  if (m == 0 || n == 0)
    return {Tensor::empty({m, 0}, DType::f64), Tensor::empty({0}, DType::f64), Tensor::empty({n, 0}, DType::f64)};
  if (m >= n) {
    ColumnSVD r = jacobi_tall(a, m, n, max_sweeps);
    return finish(r, m, n);
  }
  // Wide: A^T = U' S V'^T is tall, and A = V' S U'^T, so U = V' and V = U'.
  std::vector<double> at(a.size());
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) at[size_t(j * m + i)] = a[size_t(i * n + j)];
  ColumnSVD r = jacobi_tall(at, n, m, max_sweeps);
  SVD t = finish(r, n, m);
  return {t.V, t.S, t.U};
}

int64_t matrix_rank(const SVD& s, double tol) {
  const int64_t m = s.U.size(0), n = s.V.size(0), k = s.S.numel();
  const double* S = s.S.data<double>();
  // NumPy's default: S.max * max(m, n) * eps
  if (tol < 0) tol = k == 0 ? 0 : S[0] * double(std::max(m, n)) * kEps;
  int64_t rank = 0;
  for (int64_t i = 0; i < k; i++) rank += S[i] > tol;
  return rank;
}

int64_t matrix_rank(const Tensor& A, double tol) { return matrix_rank(svd(A), tol); }

Tensor low_rank_approx(const SVD& s, int64_t r) {
  const int64_t m = s.U.size(0), n = s.V.size(0), k = s.S.numel();
  LAB_CHECK(r >= 0 && r <= k, "low_rank_approx: rank r = {} is outside [0, {}] for a [{}, {}] matrix", r, k, m, n);
  Tensor out = Tensor::empty({m, n}, DType::f64);
  const double *U = s.U.data<double>(), *S = s.S.data<double>(), *V = s.V.data<double>();
  double* o = out.data<double>();
  // A_r[i, j] = sum_{l < r} U[i, l] S[l] V[j, l]
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double sum = 0;
      for (int64_t l = 0; l < r; l++) sum += U[i * k + l] * S[l] * V[j * k + l];
      o[i * n + j] = sum;
    }
  return out;
}

Tensor orthonormalize_columns(const Tensor& A) {
  std::vector<double> a = host_matrix(A, "orthonormalize_columns");
  const int64_t m = A.size(0), n = A.size(1);
  LAB_CHECK(m >= n, "orthonormalize_columns: a [{}, {}] matrix has more columns than rows; at most {} can be orthonormal", m, n, m);
  std::vector<double> Q(size_t(m * n));  // column-major
  std::vector<const double*> done;
  for (int64_t j = 0; j < n; j++) {
    double* q = &Q[size_t(j * m)];
    for (int64_t i = 0; i < m; i++) q[i] = a[size_t(i * n + j)];
    const double before = std::sqrt(dot(q, q, m));
    const double norm = orthogonalize(q, done, m);
    LAB_CHECK(norm > 1e3 * kEps * std::max(before, 1e-300), "orthonormalize_columns: column {} of the [{}, {}] matrix lies in the "
              "span of the columns before it (the matrix is rank deficient)", j, m, n);
    for (int64_t i = 0; i < m; i++) q[i] /= norm;
    done.push_back(q);
  }
  Tensor out = Tensor::empty({m, n}, DType::f64);
  double* o = out.data<double>();
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) o[i * n + j] = Q[size_t(j * m + i)];
  return out;
}

}  // namespace lab
