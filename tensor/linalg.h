// Dense linear algebra for lesson 01 and LoRA: the singular value decomposition, matrix rank and
// the best rank-r approximation, written from scratch (no LAPACK).
//
//   A [m, n] = U [m, k] diag(S [k]) V [n, k]^T      k = min(m, n)   (the thin SVD)
//   S descending, S >= 0; the columns of U and of V are orthonormal (U^T U = V^T V = I_k)
//
// Any floating dtype goes in; everything is computed in f64 on the CPU (a CUDA tensor is copied to
// the host first) and comes back as f64 CPU tensors. Note torch.linalg.svd returns Vh = V^T; we
// return V itself. Not here: eigenvalues, QR, solves. Next: lessons/01_low_rank/main.cpp.
#pragma once

#include "tensor/tensor.h"

#include <cstdint>

namespace lab {

struct SVD {
  Tensor U;  // [m, k] f64, orthonormal columns
  Tensor S;  // [k]    f64, descending, >= 0
  Tensor V;  // [n, k] f64, orthonormal columns (not V^T)
};

// One-sided Jacobi (see linalg.cpp). Throws if A is not 2-D, not floating, holds a NaN or an
// infinity, or if max_sweeps sweeps do not make every pair of columns orthogonal.
SVD svd(const Tensor& A, int max_sweeps = 60);

// The number of singular values above tol. tol < 0 means NumPy's default:
// S.max() * max(m, n) * eps(f64), as numpy.linalg.matrix_rank.
int64_t matrix_rank(const Tensor& A, double tol = -1);
int64_t matrix_rank(const SVD& svd, double tol = -1);

// A_r = U[:, :r] diag(S[:r]) V[:, :r]^T  [m, n] f64. By Eckart-Young it is the closest matrix of
// rank <= r to A in the Frobenius norm, and ||A - A_r||_F = sqrt(S[r]^2 + S[r+1]^2 + ...).
Tensor low_rank_approx(const SVD& svd, int64_t r);

// Q [m, n] with orthonormal columns spanning the columns of A (m >= n, A of full column rank):
// modified Gram-Schmidt, each column orthogonalized twice ("twice is enough", Giraud et al. 2005).
// f64 CPU result. Used to complete U for zero singular values, and by the tests to build
// orthogonal matrices.
Tensor orthonormalize_columns(const Tensor& A);

}  // namespace lab
