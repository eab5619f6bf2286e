// lab::matmul: shapes and broadcasting here, the arithmetic in matmul_cpu.h (v5, packed SIMD, for f32
// on the CPU; the blocked loop for f64) or cuda/matmul.cu. f32 on the CPU reads views in place.
#include "tensor/matmul.h"

#include "tensor/cuda_bridge.h"
#include "tensor/matmul_cpu.h"

#if LAB_HAS_CUDA
#include "cuda/matmul.h"
#include "cuda/runtime.h"
#endif

namespace lab {

// Bring a batch of matrices to [batch..., rows, cols] contiguous with the broadcast batch shape,
// and say how far apart consecutive matrices are (0 when one matrix serves the whole batch).
static Tensor batched_operand(const Tensor& t, const Shape& batch, int64_t* stride) {
  Shape mat(t.shape().end() - 2, t.shape().end());
  Shape own_batch(t.shape().begin(), t.shape().end() - 2);
  Shape full = batch;
  full.insert(full.end(), mat.begin(), mat.end());
  if (numel(own_batch) == 1) {
    *stride = 0;
    return t.reshape(mat).contiguous();
  }
  *stride = mat[0] * mat[1];
  return t.expand(full).contiguous();
}

// True when every row of every matrix of t lies one row stride after the previous one (the batch
// dims fold into the rows: t.reshape({-1, K}) would be a view).
static bool rows_fold(const Tensor& t) {
  int64_t next = t.size(-2) * t.stride(-2);  // where the row after the last row of a matrix must be
  for (int64_t d = t.dim() - 3; d >= 0; d--) {
    if (t.size(d) != 1 && t.stride(d) != next) return false;
    next *= t.size(d);
  }
  return true;
}

// The f32 CPU path copies nothing: each operand is viewed as [batch..., rows, cols] (broadcast
// batch dims get stride 0) and the kernel reads its matrices through their strides. Returns the
// element offset of every matrix of the batch, in row-major batch order.
static std::vector<int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
  Shape full = batch;
  full.push_back(t.size(-2));
  full.push_back(t.size(-1));
  const Strides st = t.expand(full).strides();
  std::vector<int64_t> offsets(size_t(numel(batch)));
  std::vector<int64_t> idx(batch.size(), 0);
  int64_t off = 0;
  for (int64_t& o : offsets) {
    o = off;
    // odometer over the batch dims, innermost first
    for (int64_t d = int64_t(batch.size()) - 1; d >= 0; d--) {
      off += st[size_t(d)];
      if (++idx[size_t(d)] < batch[size_t(d)]) break;
      off -= st[size_t(d)] * batch[size_t(d)];
      idx[size_t(d)] = 0;
    }
  }
  return offsets;
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  LAB_CHECK(a_in.defined() && b_in.defined(), "matmul: undefined tensor");
  LAB_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul: both operands need at least 1 dim, got shapes {} and {}",
            shape_str(a_in.shape()), shape_str(b_in.shape()));
  LAB_CHECK(a_in.dtype() == b_in.dtype(), "matmul: dtypes differ: {} and {} (HINT: convert one with .to())", dtype_name(a_in.dtype()),
            dtype_name(b_in.dtype()));
  LAB_CHECK(a_in.device() == b_in.device(), "matmul: tensors on different devices: {} and {}", a_in.device().str(),
            b_in.device().str());
  LAB_CHECK(a_in.dtype() == DType::f32 || a_in.dtype() == DType::f64,
            "matmul: supports f32 and f64, got {} (HINT: cast bf16/f16 weights with .to(DType::f32))", dtype_name(a_in.dtype()));

  // A vector becomes a 1-row (left) or 1-column (right) matrix; that dim is dropped at the end.
  Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in;
  Tensor b = b_in.dim() == 1 ? b_in.unsqueeze(1) : b_in;
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  LAB_CHECK(b.size(-2) == K, "matmul: shapes {} and {} do not fit: the inner dims are {} and {} (need A [.., M, K] @ B [.., K, N])",
            shape_str(a_in.shape()), shape_str(b_in.shape()), K, b.size(-2));

  Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2), Shape(b.shape().begin(), b.shape().end() - 2));
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  const int64_t nbatch = numel(batch);

  if (a.device().is_cpu() && a.dtype() == DType::f32) {
    Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
    if (out.numel() > 0 && b.dim() == 2 && rows_fold(a)) {
      // [batch..., M, K] @ [K, N] whose rows are evenly spaced in memory: one [batch * M, K] @ [K, N]
      // product (one packed B, no per-matrix overhead), the output's layout unchanged.
      matmul_v5_packed_simd_omp(MatrixRefF32{a.data<float>(), a.stride(-2), a.stride(-1)}, MatrixRefF32{b.data<float>(), b.stride(0), b.stride(1)},
                                out.data<float>(), nbatch * M, N, K);
    } else if (out.numel() > 0) {
      std::vector<int64_t> off_a = batch_offsets(a, batch), off_b = batch_offsets(b, batch);
      matmul_v5_batched(nbatch, MatrixRefF32{a.data<float>(), a.stride(-2), a.stride(-1)}, off_a.data(),
                        MatrixRefF32{b.data<float>(), b.stride(-2), b.stride(-1)}, off_b.data(), out.data<float>(), M, N, K);
    }
    if (a_in.dim() == 1) out = out.squeeze(-2);
    if (b_in.dim() == 1) out = out.squeeze(-1);
    return out;
  }

  int64_t stride_a = 0, stride_b = 0;
  Tensor pa = batched_operand(a, batch, &stride_a);
  Tensor pb = batched_operand(b, batch, &stride_b);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());

  if (out.numel() > 0) {
    if (a.device().is_cuda()) {
#if LAB_HAS_CUDA
      cuda::set_device(a.device().index);
      cuda::MatmulShape s{nbatch, M, N, K, stride_a, stride_b};
      if (a.dtype() == DType::f32) cuda::matmul_f32(out.data<float>(), pa.data<float>(), pb.data<float>(), s);
      else cuda::matmul_f64(out.data<double>(), pa.data<double>(), pb.data<double>(), s);
#endif
    } else {
      LAB_DISPATCH_DTYPE(a.dtype(), T, {
        if constexpr (std::is_floating_point_v<T>) {
          for (int64_t i = 0; i < nbatch; i++)
            matmul_blocked<T>(pa.data<T>() + i * stride_a, pb.data<T>() + i * stride_b, out.data<T>() + i * M * N, M, N, K);
        }
      });
    }
  }
  if (a_in.dim() == 1) out = out.squeeze(-2);
  if (b_in.dim() == 1) out = out.squeeze(-1);
  return out;
}

}  // namespace lab
