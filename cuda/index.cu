// GPU row gather (index_select_rows) and scatter-add (index_add_rows), a thread per element of the
// [n, C] side, so that neighbouring threads touch neighbouring columns of one row.
//
// index_add uses atomicAdd (f32, and f64 since sm_60), because repeated ids send several rows of grad
// to one output row; the order of those additions is not fixed, so f32 results may differ from the
// CPU's in the last bits. A deterministic version would sort the ids first. CPU reference: tensor/index.cpp.
#include "cuda/index.h"
#include "cuda/launch.cuh"

namespace lab::cuda {

namespace {

// The ids were checked on the host; the range test here only keeps a direct caller from reading or
// writing outside the table (such an element is left 0 by the gather, skipped by the scatter).
template <typename T> __global__ void select_kernel(T* out, const T* table, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  for (int64_t i = first_index(); i < n * C; i += grid_stride()) {
    const int64_t id = ids[i / C];
    out[i] = id >= 0 && id < V ? table[id * C + i % C] : T(0);
  }
}

template <typename T> __global__ void add_kernel(T* out, const T* grad, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  for (int64_t i = first_index(); i < n * C; i += grid_stride()) {
    const int64_t id = ids[i / C];
    if (id >= 0 && id < V) atomicAdd(&out[id * C + i % C], grad[i]);
  }
}

template <typename T> void select(T* out, const T* table, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  if (n * C == 0) return;
  select_kernel<T><<<grid_for(n * C), kThreads>>>(out, table, ids, n, V, C);
  CUDA_CHECK_LAUNCH(kernel_name<T>("index_select_rows"), {"n", n}, {"V", V}, {"C", C});
}

template <typename T> void add(T* out, const T* grad, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  if (V * C == 0) return;
  CUDA_CHECK(cudaMemsetAsync(out, 0, size_t(V * C) * sizeof(T), nullptr));  // all-zero bits are 0.0
  if (n * C == 0) return;
  add_kernel<T><<<grid_for(n * C), kThreads>>>(out, grad, ids, n, V, C);
  CUDA_CHECK_LAUNCH(kernel_name<T>("index_add_rows"), {"n", n}, {"V", V}, {"C", C});
}

}  // namespace

void index_select_rows_f32(float* out, const float* table, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  select(out, table, ids, n, V, C);
}
void index_select_rows_f64(double* out, const double* table, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  select(out, table, ids, n, V, C);
}

void index_add_rows_f32(float* out, const float* grad, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  add(out, grad, ids, n, V, C);
}
void index_add_rows_f64(double* out, const double* grad, const int64_t* ids, int64_t n, int64_t V, int64_t C) {
  add(out, grad, ids, n, V, C);
}

}  // namespace lab::cuda
