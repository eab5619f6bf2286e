// The register-blocked micro-kernels of the packed matmul (v4, v5 in matmul_cpu.h), chosen at run time.
//
// A micro-kernel computes one MR x NR tile of C from MR rows of A (read through strides: a packed
// micro-panel, kc columns of MR values, is rsa = 1, csa = MR) and a packed micro-panel of B (kc rows
// of NR values, the SIMD loads): C_tile (+)= sum_k a[:,k] b[k,:],
// an outer product per k, all MR x NR sums held in SIMD registers for the whole loop over k.
// One binary carries every version (no -march flag: each kernel is compiled for its own ISA with
// __attribute__((target))) and best_isa() asks the CPU (__builtin_cpu_supports) which it runs.
// Not here: packing and the loops around the kernel (matmul_packed.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace lab {

enum class Isa { scalar, avx2_fma, avx512f };
const char* isa_name(Isa isa);

// c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + sum_k a[i * rsa + k * csa] * b[k * NR + j], i < MR, j < NR.
using MicroKernelFn = void (*)(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b, float* c, int64_t ldc, bool accumulate);

// A micro-kernel and the block sizes around it: KC x NR floats of B stay in L1, MC x KC of A in L2,
// KC x NC of B in L3.
struct MicroKernel {
  Isa isa;
  int64_t mr, nr;
  int64_t kc, mc, nc;
  MicroKernelFn fn;
};

// The micro-kernels this CPU can run, fastest first (scalar always last).
std::vector<Isa> supported_isas();
Isa best_isa();
const MicroKernel& micro_kernel(Isa isa);  // an Isa the CPU lacks is an error

}  // namespace lab
