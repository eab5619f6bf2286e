// Arithmetic that nvcc may not contract into fused multiply-adds: add, mul, div and sqrt, each
// rounded once to nearest, as the CPU rounds them (optim/ is built with -ffp-contract=off). The
// optimizer kernels (cuda/adamw.cu, cuda/sgd.cu) use these so that the GPU update equals its CPU
// reference in optim/ bit for bit, which is what makes a run resumable across devices.
// Not for the hot math kernels (matmul, softmax): there FMA is faster and more accurate.
// Included by .cu files only.
#pragma once

namespace lab::cuda::rounded {

__device__ inline float add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ inline float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float div(float a, float b) { return __fdiv_rn(a, b); }
__device__ inline float sqrt(float a) { return __fsqrt_rn(a); }

__device__ inline double add(double a, double b) { return __dadd_rn(a, b); }
__device__ inline double sub(double a, double b) { return __dsub_rn(a, b); }
__device__ inline double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ inline double div(double a, double b) { return __ddiv_rn(a, b); }
__device__ inline double sqrt(double a) { return __dsqrt_rn(a); }

}  // namespace lab::cuda::rounded
