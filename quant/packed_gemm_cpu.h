// The five loops of the packed matmul (tensor/matmul_packed.cpp) around lab's SIMD micro-kernel, with
// the packing of B handed to the caller: the place where a fused kernel does its own work (decoding
// NF4, stacking LoRA's B under W) while it copies B into micro-panels anyway.
//
//   C[M, N] = A[M, K] B[K, N]:
//     A  row-major pieces side by side: segment s holds columns [k0, k1) of A, A(i, k) = data[i * lda + k - k0]
//        (one segment for x; two for LoRA's [x | s x A^T]). The micro-kernel reads A in place, as
//        tensor/matmul_packed.cpp does for a row-major A, except a last short panel (zero-padded),
//        every panel for the scalar kernel, and a row stride that is a multiple of 4 KiB (rows that
//        would collide in the same cache sets): those are packed.
//     B  through a function: pack_b(k0, kc, j0, cols, dst) writes dst[k * NR + j] = B(k0 + k, j0 + j),
//        j < cols <= NR, k < kc (the driver zeroes the padding of a short panel first). The K loop
//        never lets a KC block straddle two segments of A.
//
// Users: the fused NF4 matmul (B = W^T decoded from 4-bit codes while packing, nf4_matmul_cpu.cpp) and
// the fused LoRA forward (A = [x | s x A^T], B = [W^T ; B^T], lora_fused.cpp). Threads split C along
// its longer side (see packed_gemm_with). Not here: the micro-kernels (tensor/matmul_microkernel.h);
// the plain f32 matmul (tensor/matmul_cpu.h).
#pragma once

#include "tensor/matmul_microkernel.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace lab::quant {

// Columns [k0, k1) of A, row-major with row stride lda: A(i, k) = data[i * lda + k - k0].
struct ASegment {
  const float* data;
  int64_t lda, k0, k1;
};

namespace packed_gemm_detail {

// dst[k * mr + i] = a[i * lda + k] for i < rows, zero for rows <= i < mr
inline void pack_a_panel(const float* a, int64_t lda, int64_t rows, int64_t kc, int64_t mr, float* dst) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t k = 0; k < kc; k++) dst[k * mr + i] = a[i * lda + k];
  for (int64_t k = 0; k < kc && rows < mr; k++)
    for (int64_t i = rows; i < mr; i++) dst[k * mr + i] = 0.0f;
}

// C[i_begin:i_end, j_begin:j_end] on one thread: jc over NC columns, pc over KC of K (segment by
// segment), ic over MC rows, then the tiles.
template <typename PackB>
void rectangle(const MicroKernel& mk, const std::vector<ASegment>& a, const PackB& pack_b, float* c, int64_t ldc, int64_t i_begin,
               int64_t i_end, int64_t j_begin, int64_t j_end) {
  thread_local std::vector<float> pa, pb;
  const int64_t KC = mk.kc, MC = mk.mc, NC = mk.nc;
  pa.resize(size_t(MC * KC));
  pb.resize(size_t(NC * KC));
  alignas(64) float tile[16 * 32];  // >= MR * NR of every micro-kernel
  for (int64_t jc = j_begin; jc < j_end; jc += NC) {
    const int64_t nc = std::min(NC, j_end - jc);
    for (const ASegment& seg : a) {
      const bool pack_all = mk.isa == Isa::scalar || seg.lda % 1024 == 0;
      for (int64_t pc = seg.k0; pc < seg.k1; pc += KC) {
        const int64_t kc = std::min(KC, seg.k1 - pc);
        for (int64_t jp = 0; jp < nc; jp += mk.nr) {  // B[pc:pc+kc, jc:jc+nc] into NR-column micro-panels
          float* dst = pb.data() + jp * kc;
          const int64_t cols = std::min(mk.nr, nc - jp);
          if (cols < mk.nr) std::memset(dst, 0, size_t(kc * mk.nr) * sizeof(float));
          pack_b(pc, kc, jc + jp, cols, dst);
        }
        const bool accumulate = pc > 0;
        for (int64_t ic = i_begin; ic < i_end; ic += MC) {
          const int64_t mc = std::min(MC, i_end - ic);
          const float* block = seg.data + ic * seg.lda + (pc - seg.k0);  // A[ic:ic+mc, pc:pc+kc] in place
          for (int64_t ir = 0; ir < mc; ir += mk.mr) {
            const int64_t mr = std::min(mk.mr, mc - ir);
            const float* ap = block + ir * seg.lda;
            int64_t rsa = seg.lda, csa = 1;
            if (pack_all || mr < mk.mr) {  // a packed, zero-padded copy of this MR-row panel
              float* dst = pa.data() + ir * kc;
              pack_a_panel(ap, seg.lda, mr, kc, mk.mr, dst);
              ap = dst, rsa = 1, csa = mk.mr;
            }
            for (int64_t jr = 0; jr < nc; jr += mk.nr) {
              const int64_t nr = std::min(mk.nr, nc - jr);
              float* ct = c + (ic + ir) * ldc + jc + jr;
              const float* b = pb.data() + jr * kc;
              if (mr == mk.mr && nr == mk.nr) {
                mk.fn(kc, ap, rsa, csa, b, ct, ldc, accumulate);
              } else {  // an edge tile: computed whole, written back only where C is
                mk.fn(kc, ap, rsa, csa, b, tile, mk.nr, false);
                for (int64_t i = 0; i < mr; i++)
                  for (int64_t j = 0; j < nr; j++) ct[i * ldc + j] = (accumulate ? ct[i * ldc + j] : 0.0f) + tile[i * mk.nr + j];
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace packed_gemm_detail

// C [M, N] with row stride ldc, overwritten; K = the segments' columns together. Any M, N, K >= 0.
// Below 2^18 multiply-adds, one thread.
template <typename PackB>
void packed_gemm_with(const MicroKernel& mk, int64_t M, int64_t N, const std::vector<ASegment>& a, const PackB& pack_b, float* c,
                      int64_t ldc) {
  const int64_t K = a.empty() ? 0 : a.back().k1;
  if (M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum
    for (int64_t i = 0; i < M; i++) std::memset(c + i * ldc, 0, size_t(N) * sizeof(float));
    return;
  }
  const int threads = omp_in_parallel() || M * N * K < (int64_t(1) << 18) ? 1 : omp_get_max_threads();
  const int64_t tiles_m = (M + mk.mr - 1) / mk.mr, tiles_n = (N + mk.nr - 1) / mk.nr;
  // Each row part packs all of B (decodes it, for NF4) and each column part reads all of A, so C is
  // split along its longer side only: a training batch (M >> N) by rows, batch 1 by columns. 2 tasks
  // a thread: a core busy elsewhere then costs half a task, not half the work.
  const int64_t tasks = threads == 1 ? 1 : 2 * threads;
  const int64_t parts_m = M >= N ? std::min<int64_t>(tiles_m, tasks) : 1;
  const int64_t parts_n = M >= N ? 1 : std::min<int64_t>(tiles_n, tasks);
  const int64_t tn = (tiles_n + parts_n - 1) / parts_n, tm = (tiles_m + parts_m - 1) / parts_m;
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
  for (int64_t t = 0; t < parts_m * parts_n; t++) {
    const int64_t i0 = (t / parts_n) * tm * mk.mr, j0 = (t % parts_n) * tn * mk.nr;
    const int64_t i1 = std::min(M, i0 + tm * mk.mr), j1 = std::min(N, j0 + tn * mk.nr);
    if (i0 < i1 && j0 < j1) packed_gemm_detail::rectangle(mk, a, pack_b, c, ldc, i0, i1, j0, j1);
  }
}

}  // namespace lab::quant
