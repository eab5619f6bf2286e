// Cross-entropy of logits against integer targets: the CPU reference for cuda/cross_entropy.cu, and
// the device dispatch. The targets are checked on the CPU first (copied there when they live on the
// GPU), so that a bad one is an error naming its row, and the kernels never meet one.
//
// Forward: per-row losses, then their sum in a fixed order (double on the CPU), divided by the count.
// Backward: softmax (tensor/softmax.cpp), then the per-element rule of tensor/loss.h.
// Not here: the autograd node that calls both (autograd/ops_nn.cpp).
#include "tensor/loss.h"

#include "tensor/elementwise.h"
#include "tensor/factory.h"
#include "tensor/reduce.h"
#include "tensor/softmax.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/cross_entropy.h"
#include "cuda/runtime.h"
#endif

#include <cmath>
#include <limits>
#include <vector>

namespace lab {

namespace {

// Checks shapes, dtypes and devices, then every target; returns the targets as int64 on the CPU.
std::vector<int64_t> checked_targets(const char* what, const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  LAB_CHECK(logits.defined() && targets.defined(), "{}: undefined tensor", what);
  LAB_CHECK(logits.dtype() == DType::f32 || logits.dtype() == DType::f64,
            "{}: logits must be f32 or f64, got {} (HINT: cast with .to(DType::f32))", what, dtype_name(logits.dtype()));
  LAB_CHECK(logits.dim() == 2, "{}: expected logits of shape [N, V], got {} (HINT: flatten the leading dims with .reshape({{-1, V}}))",
            what, shape_str(logits.shape()));
  LAB_CHECK(targets.dtype() == DType::i64 || targets.dtype() == DType::i32,
            "{}: targets must be i64 or i32, got {} (HINT: .to(DType::i64))", what, dtype_name(targets.dtype()));
  LAB_CHECK(targets.shape() == Shape{logits.size(0)}, "{}: expected targets of shape [{}] for logits of shape {}, got {}", what,
            logits.size(0), shape_str(logits.shape()), shape_str(targets.shape()));
  LAB_CHECK(logits.device() == targets.device(), "{}: logits on {} but targets on {} (HINT: .to(Device) one of them)", what,
            logits.device().str(), targets.device().str());
  std::vector<int64_t> t = targets.to_vector<int64_t>();
  const int64_t V = logits.size(1);
  for (size_t r = 0; r < t.size(); r++)
    LAB_CHECK(t[r] == ignore_index || (t[r] >= 0 && t[r] < V),
              "{}: target {} at row {} is outside [0, {}) and is not the ignore index {} (HINT: check the vocabulary size)", what,
              t[r], r, V, ignore_index);
  return t;
}

// sum over counted rows of logsumexp(z_r) - z_r[t_r], each row as (m - z_t) + log(sum_v exp(z_v - m)), in double.
template <typename T> double loss_sum_cpu(const T* z, const int64_t* t, int64_t N, int64_t V, int64_t ignore_index) {
  std::vector<double> row_loss(size_t(N), 0.0);
#pragma omp parallel for if (N * V >= kParallelGrain)
  for (int64_t r = 0; r < N; r++) {
    if (t[r] == ignore_index) continue;
    const T* zr = z + r * V;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t v = 0; v < V; v++) m = double(zr[v]) > m ? double(zr[v]) : m;
    double s = 0;
    for (int64_t v = 0; v < V; v++) s += std::exp(double(zr[v]) - m);
    row_loss[r] = (m - double(zr[t[r]])) + std::log(s);
  }
  double total = 0;
  for (double l : row_loss) total += l;
  return total;
}

// dz = scale * (p - [v == t]) for counted rows, 0 for ignored ones; p (the softmax) is read from dz and overwritten.
template <typename T> void backward_cpu(T* dz, const int64_t* t, int64_t N, int64_t V, int64_t ignore_index, double scale) {
#pragma omp parallel for if (N * V >= kParallelGrain)
  for (int64_t r = 0; r < N; r++)
    for (int64_t v = 0; v < V; v++)
      dz[r * V + v] = t[r] == ignore_index ? T(0) : T(scale * (double(dz[r * V + v]) - (v == t[r] ? 1.0 : 0.0)));
}

}  // namespace

CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  const std::vector<int64_t> t = checked_targets("cross_entropy_forward", logits, targets, ignore_index);
  int64_t count = 0;
  for (int64_t v : t) count += v != ignore_index;
  const int64_t N = logits.size(0), V = logits.size(1);
  const Tensor z = logits.contiguous();
  // The mean over no rows is NaN, as in PyTorch.
  if (count == 0) return {full({}, std::numeric_limits<double>::quiet_NaN(), logits.dtype(), logits.device()), 0};
  if (z.device().is_cuda()) {
#if LAB_HAS_CUDA
    const Tensor t64 = targets.to(DType::i64).contiguous();
    Tensor row_loss = Tensor::empty({N}, z.dtype(), z.device());
    cuda::set_device(z.device().index);
    if (z.dtype() == DType::f32)
      cuda::cross_entropy_rows_f32(row_loss.data<float>(), z.data<float>(), t64.data<int64_t>(), N, V, ignore_index);
    else
      cuda::cross_entropy_rows_f64(row_loss.data<double>(), z.data<double>(), t64.data<int64_t>(), N, V, ignore_index);
    return {mul(sum(row_loss), 1.0 / double(count)), count};
#endif
  }
  double total = 0;
  if (z.dtype() == DType::f32) total = loss_sum_cpu(z.data<float>(), t.data(), N, V, ignore_index);
  else total = loss_sum_cpu(z.data<double>(), t.data(), N, V, ignore_index);
  return {full({}, total / double(count), z.dtype()), count};
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index, double scale) {
  const std::vector<int64_t> t = checked_targets("cross_entropy_backward", logits, targets, ignore_index);
  const int64_t N = logits.size(0), V = logits.size(1);
  // dz starts as softmax(z) and becomes scale * (softmax(z) - onehot(t)) in place.
  Tensor dz = softmax(logits, 1);
  if (dz.device().is_cuda()) {
#if LAB_HAS_CUDA
    const Tensor t64 = targets.to(DType::i64).contiguous();
    cuda::set_device(dz.device().index);
    if (dz.dtype() == DType::f32)
      cuda::cross_entropy_backward_f32(dz.data<float>(), t64.data<int64_t>(), N, V, ignore_index, float(scale));
    else
      cuda::cross_entropy_backward_f64(dz.data<double>(), t64.data<int64_t>(), N, V, ignore_index, scale);
    return dz;
#endif
  }
  if (dz.dtype() == DType::f32) backward_cpu(dz.data<float>(), t.data(), N, V, ignore_index, scale);
  else backward_cpu(dz.data<double>(), t.data(), N, V, ignore_index, scale);
  return dz;
}

}  // namespace lab
