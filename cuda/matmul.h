// GPU matrix multiply (SGEMM), one numbered version per optimization step; the slower ones stay:
// they are the lesson (lessons/08_kernels/README.md walks through them). CPU reference:
// tensor/matmul.cpp. All row-major, batched:
//
//   C[b] = A[b] B[b]   with A[b] = a + b * stride_a  ([M, K], contiguous),
//                           B[b] = b + b * stride_b  ([K, N], contiguous),  C[b] = c + b * M * N.
//
// A stride of 0 broadcasts one matrix over the batch. Not here: shape checks and broadcasting of
// tensors (tensor/matmul.cpp). Kernels: cuda/matmul.cu (v1-v3), matmul_blocktiling.cu (v4, v5),
// matmul_vectorized.cu (v6), matmul_warptiling.cu (v7), matmul_bf16_wmma.cu (v8).
#pragma once

#include <cstdint>
#include <string>

namespace lab::cuda {

struct MatmulShape {
  int64_t batch, M, N, K;
  int64_t stride_a, stride_b;  // elements between consecutive matrices of A and of B
};

// v1: one thread per element of C, consecutive threads of a warp on consecutive rows: every load
// of A is a different cache line (uncoalesced), the baseline every step improves on.
void matmul_v1_naive_f32(float* c, const float* a, const float* b, const MatmulShape& s);
// v2: the same dot products, consecutive threads on consecutive columns: a warp's loads of B and
// stores of C are one 128-byte transaction each (global-memory coalescing).
void matmul_v2_coalesced_f32(float* c, const float* a, const float* b, const MatmulShape& s);
// v3: 32x32 tiles of A and B staged in shared memory, so each global value is read N/32 times
// instead of N times.
void matmul_v3_smem_tiled_f32(float* c, const float* a, const float* b, const MatmulShape& s);
void matmul_v3_smem_tiled_f64(double* c, const double* a, const double* b, const MatmulShape& s);
// v4: 1-D block tiling: each thread computes 8 outputs of a column from one shared value of B.
void matmul_v4_blocktiling_1d_f32(float* c, const float* a, const float* b, const MatmulShape& s);
// v5: 2-D block tiling: each thread computes an 8x8 tile of C as outer products of registers.
void matmul_v5_blocktiling_2d_f32(float* c, const float* a, const float* b, const MatmulShape& s);
// v6: v5 with 16-byte (float4) loads from global and shared memory, A transposed in shared memory.
void matmul_v6_vectorized_f32(float* c, const float* a, const float* b, const MatmulShape& s);
// v7: warp tiling: each warp owns a 64x64 tile of C, each thread 8x16 of it, float4 loads as v6.
void matmul_v7_warptiling_f32(float* c, const float* a, const float* b, const MatmulShape& s);
// v8: bf16 tensor cores (WMMA 16x16x16, f32 accumulation): A and B rounded to bf16 as they are
// staged, so C carries bf16's input rounding (relative 2^-8 per factor). Needs compute capability
// >= 8.0 (throws CudaError otherwise). Not used by matmul_f32: its results are not f32-accurate.
void matmul_v8_bf16_wmma(float* c, const float* a, const float* b, const MatmulShape& s);

// Whether v6-v8 may load and store float4 (16 bytes): every row of A, B and C starts on a 16-byte
// boundary when K, N and both batch strides are multiples of 4 and a, b, c are 16-byte aligned.
// Where not, the same kernels load 4 floats one at a time, each with its own bounds check.
inline bool matmul_float4_aligned(const float* c, const float* a, const float* b, const MatmulShape& s) {
  const auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return s.K % 4 == 0 && s.N % 4 == 0 && s.stride_a % 4 == 0 && s.stride_b % 4 == 0 && aligned16(a) && aligned16(b) &&
         aligned16(c);
}

// The yardstick the versions are measured against: the GPU's FP32 peak without tensor cores,
// SMs x FP32 lanes per SM x 2 FLOPs per FMA x peak clock, from the device's properties; `how` says
// so with the figures. FP32 lanes per SM by compute capability: 64 up to 8.0 (Volta, Turing, A100),
// 128 from 8.6 on (GA10x, Ada, Hopper, Blackwell), per the CUDA C Programming Guide's throughput table.
struct Fp32Peak {
  double gflops;
  std::string how;
};
Fp32Peak fp32_peak(int device);

// The fastest correct version, which lab::matmul calls. For f32, v7: the warp-tiled kernel is the
// fastest f32 step of the reference series (Boehm 2022, on an A6000). Not yet measured on our GPU:
// where bench/bench_cuda_sgemm.cpp (scripts/gpu-check.sh) ranks another f32 version first, call that one.
inline void matmul_f32(float* c, const float* a, const float* b, const MatmulShape& s) { matmul_v7_warptiling_f32(c, a, b, s); }
inline void matmul_f64(double* c, const double* a, const double* b, const MatmulShape& s) { matmul_v3_smem_tiled_f64(c, a, b, s); }

}  // namespace lab::cuda
