// Gathering rows by id and scattering gradients back: the CPU reference for cuda/index.cu, and the
// device dispatch. The ids are checked on the CPU (copied there when they live on the GPU) before
// any kernel runs, so a bad id is an error naming where it is, never a read outside the table.
// The CPU's index_add adds in the order of the ids, so it is deterministic; the GPU's uses atomics.
// Not here: the Embedding module that calls these (nn/), its autograd node (autograd/).
#include "tensor/index.h"

#include "tensor/op_checks.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/index.h"
#include "cuda/runtime.h"
#endif

#include <algorithm>
#include <string>
#include <vector>

namespace lab {

namespace {

// The multi-index of element `flat` of a tensor of `shape`, as "[1, 2]".
std::string position_str(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; d--) index[d] = flat % shape[d], flat /= shape[d];
  return fmt::format("[{}]", fmt::join(index, ", "));
}

// Checks the ids' dtype and device, then every id; returns them as int64 on the CPU.
std::vector<int64_t> checked_ids(const char* what, const Tensor& ids, const Tensor& data, int64_t num_rows) {
  LAB_CHECK(ids.defined(), "{}: ids is undefined", what);
  LAB_CHECK(ids.dtype() == DType::i64 || ids.dtype() == DType::i32, "{}: ids must be i64 or i32, got {} (HINT: .to(DType::i64))",
            what, dtype_name(ids.dtype()));
  LAB_CHECK(ids.device() == data.device(), "{}: ids on {} but the data on {} (HINT: .to(Device) one of them)", what,
            ids.device().str(), data.device().str());
  std::vector<int64_t> v = ids.to_vector<int64_t>();
  for (size_t i = 0; i < v.size(); i++)
    LAB_CHECK(v[i] >= 0 && v[i] < num_rows, "{}: id {} at position {} of ids (shape {}) is outside [0, {}) (HINT: the table has {} rows)",
              what, v[i], position_str(int64_t(i), ids.shape()), shape_str(ids.shape()), num_rows, num_rows);
  return v;
}

// out[i, :] = table[ids[i], :]
template <typename T> void select_cpu(T* out, const T* table, const int64_t* ids, int64_t n, int64_t C) {
#pragma omp parallel for if (n * C >= kParallelGrain)
  for (int64_t i = 0; i < n; i++) std::copy(table + ids[i] * C, table + (ids[i] + 1) * C, out + i * C);
}

// out = 0, then out[ids[i], :] += grad[i, :] for i = 0, 1, ... in order
template <typename T> void add_cpu(T* out, const T* grad, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  std::fill(out, out + V * C, T(0));
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < C; c++) out[ids[i] * C + c] += grad[i * C + c];
}

}  // namespace

Tensor index_select_rows(const Tensor& table_in, const Tensor& ids_in) {
  const char* what = "index_select_rows";
  check_float(what, "table", table_in);
  LAB_CHECK(table_in.dim() == 2, "{}: expected a table of shape [V, C], got {}", what, shape_str(table_in.shape()));
  const int64_t V = table_in.size(0), C = table_in.size(1);
  const std::vector<int64_t> ids = checked_ids(what, ids_in, table_in, V);
  const int64_t n = int64_t(ids.size());
  Shape shape = ids_in.shape();
  shape.push_back(C);
  Tensor out = Tensor::empty(shape, table_in.dtype(), table_in.device());
  const Tensor table = table_in.contiguous();
  if (table.device().is_cuda()) {
#if LAB_HAS_CUDA
    const Tensor ids64 = ids_in.to(DType::i64).contiguous();
    cuda::set_device(table.device().index);
    if (table.dtype() == DType::f32)
      cuda::index_select_rows_f32(out.data<float>(), table.data<float>(), ids64.data<int64_t>(), n, V, C);
    else
      cuda::index_select_rows_f64(out.data<double>(), table.data<double>(), ids64.data<int64_t>(), n, V, C);
    return out;
#endif
  }
  if (table.dtype() == DType::f32) select_cpu(out.data<float>(), table.data<float>(), ids.data(), n, C);
  else select_cpu(out.data<double>(), table.data<double>(), ids.data(), n, C);
  return out;
}

Tensor index_add_rows(const Tensor& grad_in, const Tensor& ids_in, int64_t num_rows) {
  const char* what = "index_add_rows";
  check_float(what, "grad", grad_in);
  LAB_CHECK(num_rows >= 0, "{}: num_rows must be >= 0, got {}", what, num_rows);
  LAB_CHECK(ids_in.defined() && grad_in.dim() == ids_in.dim() + 1, "{}: expected grad of shape [*ids.shape, C], got grad {} and ids {}",
            what, shape_str(grad_in.shape()), ids_in.defined() ? shape_str(ids_in.shape()) : "undefined");
  const int64_t C = grad_in.size(-1);
  Shape expected = ids_in.shape();
  expected.push_back(C);
  LAB_CHECK(grad_in.shape() == expected, "{}: expected grad of shape {} for ids of shape {}, got {}", what, shape_str(expected),
            shape_str(ids_in.shape()), shape_str(grad_in.shape()));
  const std::vector<int64_t> ids = checked_ids(what, ids_in, grad_in, num_rows);
  const int64_t n = int64_t(ids.size());
  Tensor out = Tensor::empty({num_rows, C}, grad_in.dtype(), grad_in.device());
  const Tensor grad = grad_in.contiguous();
  if (grad.device().is_cuda()) {
#if LAB_HAS_CUDA
    const Tensor ids64 = ids_in.to(DType::i64).contiguous();
    cuda::set_device(grad.device().index);
    if (grad.dtype() == DType::f32)
      cuda::index_add_rows_f32(out.data<float>(), grad.data<float>(), ids64.data<int64_t>(), n, num_rows, C);
    else
      cuda::index_add_rows_f64(out.data<double>(), grad.data<double>(), ids64.data<int64_t>(), n, num_rows, C);
    return out;
#endif
  }
  if (grad.dtype() == DType::f32) add_cpu(out.data<float>(), grad.data<float>(), ids.data(), n, num_rows, C);
  else add_cpu(out.data<double>(), grad.data<double>(), ids.data(), n, num_rows, C);
  return out;
}

}  // namespace lab
