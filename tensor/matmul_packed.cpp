// v4 and v5 of the CPU matmul: packed panels around a SIMD micro-kernel (GotoBLAS / BLIS).
//
// The five loops, outermost first (Goto & van de Geijn 2008, figure 4; BLIS's "five loops around
// the micro-kernel"):
//   jc over N by NC:  a KC x NC panel of B is packed once and reused by every row block of A
//     pc over K by KC:  (the panel's rank-KC update of C)
//       ic over M by MC:  an MC x KC block of A is packed into MR-row micro-panels (stays in L2)
//         jr over NC by NR, ir over MC by MR:  the micro-kernel, C[MR, NR] += A[MR, KC] B[KC, NR]
// Packing copies an operand into the exact order the micro-kernel reads it (unit stride, no TLB or
// cache-set conflicts, zero-padded to whole tiles), so the kernel never sees edges: the copy reads
// A and B through (row stride, column stride), and a transposed view is packed as cheaply as a
// contiguous one. B is always packed (the kernel's SIMD loads); A only where it pays (should_pack_a),
// since the kernel merely broadcasts its elements and can read them in place.
// v5 splits C into chunks that OpenMP threads compute independently.
// Not here: the micro-kernels (matmul_microkernel.cpp); shapes and batching of tensors (matmul.cpp).
#include "tensor/matmul_cpu.h"

#include "tensor/error.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace lab {

namespace {

// A growable 64-byte aligned scratch buffer, one per thread, kept between calls.
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t need) {
    if (need > n) {
      std::free(p);
      n = (need + 15) / 16 * 16;
      p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
      if (!p) n = 0;
      LAB_CHECK(p != nullptr, "matmul: out of memory for a {}-byte packing buffer (HINT: multiply smaller matrices)", need * sizeof(float));
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};

thread_local Scratch pack_a_buf, pack_b_buf, whole_b_buf;

// The element (i, j) of a strided matrix.
inline float at(MatrixRefF32 m, int64_t i, int64_t j) { return m.data[i * m.row_stride + j * m.col_stride]; }

// Micro-panel p of packed A holds rows [i0 + p*MR, +MR) of the block: dst[p*MR*kc + k*MR + i] = A(i0 + p*MR + i, k0 + k),
// rows past the block's end zero.
void pack_a_panel(MatrixRefF32 a, int64_t mr, int64_t i0, int64_t k0, int64_t rows, int64_t kc, float* dst) {
  if (a.col_stride == 1) {  // row-major A: read along a row, write with stride MR
    for (int64_t i = 0; i < rows; i++) {
      const float* src = a.data + (i0 + i) * a.row_stride + k0;
      for (int64_t k = 0; k < kc; k++) dst[k * mr + i] = src[k];
    }
  } else if (a.row_stride == 1) {  // column-major (a transposed view): a column of the panel is a contiguous run
    for (int64_t k = 0; k < kc; k++) {
      const float* src = a.data + i0 + (k0 + k) * a.col_stride;
      for (int64_t i = 0; i < rows; i++) dst[k * mr + i] = src[i];  // a short run: a loop, not a memcpy call
    }
  } else {  // general strides
    for (int64_t k = 0; k < kc; k++)
      for (int64_t i = 0; i < rows; i++) dst[k * mr + i] = at(a, i0 + i, k0 + k);
  }
  if (rows < mr)
    for (int64_t k = 0; k < kc; k++)
      for (int64_t i = rows; i < mr; i++) dst[k * mr + i] = 0.0f;
}

// Micro-panel of packed B for columns [j0, j0 + cols): dst[k*NR + j] = B(k0 + k, j0 + j), columns past
// cols zero. For a B that is not row-major: B = W^T of a row-major W (nn::Linear), read along W's rows.
void pack_b_panel(MatrixRefF32 b, int64_t nr, int64_t k0, int64_t j0, int64_t kc, int64_t cols, float* dst) {
  for (int64_t j = 0; j < cols; j++)
    for (int64_t k = 0; k < kc; k++) dst[k * nr + j] = at(b, k0 + k, j0 + j);
  for (int64_t k = 0; k < kc; k++)
    for (int64_t j = cols; j < nr; j++) dst[k * nr + j] = 0.0f;
}

// Row k of a row-major B, columns [0, nc) from src, into every NR-column micro-panel of its block:
// row_dst is the row's place in the first panel, and panels are kc * NR floats apart.
void pack_b_row(const float* src, int64_t nr, int64_t nc, int64_t kc, float* row_dst) {
  for (int64_t jp = 0; jp < nc; jp += nr) {
    float* d = row_dst + jp * kc;
    const int64_t cols = std::min(nr, nc - jp);
    for (int64_t j = 0; j < cols; j++) d[j] = src[jp + j];  // a short run: a loop, not a memcpy call
    for (int64_t j = cols; j < nr; j++) d[j] = 0.0f;
  }
}

// Where the MR-row panels of an MC x KC block of A are: panel p starts at base + p * panel_step, and its
// element (i, k) is at rsa * i + csa * k from there. Packed: {pa, MR * kc, 1, MR}; in place: A's own strides.
struct APanels {
  const float* base;
  int64_t panel_step, rsa, csa;
};

// B[k0:k0+kc, j0:j0+nc] as its NR-column micro-panels, one after another. A row-major B is copied a row
// at a time across all panels: one sequential read of each row, which the prefetcher streams (panel by
// panel, the reads would hop from row to row, a cache miss per row).
void pack_b_block(MatrixRefF32 b, int64_t nr, int64_t k0, int64_t j0, int64_t kc, int64_t nc, float* dst) {
  if (b.col_stride != 1) {
    for (int64_t jp = 0; jp < nc; jp += nr) pack_b_panel(b, nr, k0, j0 + jp, kc, std::min(nr, nc - jp), dst + jp * kc);
    return;
  }
  for (int64_t k = 0; k < kc; k++) pack_b_row(b.data + (k0 + k) * b.row_stride + j0, nr, nc, kc, dst + k * nr);
}

// The two inner loops: every MR x NR tile of C[mc, nc] from the block of A and the packed panel of B.
// Edge tiles go through a local tile, of which only the part inside C is written back; a short last
// panel of an unpacked A is packed (zero-padded), so the kernel never reads past A's last row.
void macro_kernel(const MicroKernel& mk, APanels a, bool a_packed, MatrixRefF32 a_src, int64_t a_row0, int64_t a_col0, const float* pb,
                  float* c, int64_t ldc, int64_t mc, int64_t nc, int64_t kc, bool accumulate) {
  alignas(64) float tile[16 * 32];  // >= MR * NR of every micro-kernel
  thread_local Scratch edge_buf;
  float* edge = nullptr;
  const int64_t last_mr = mc % mk.mr;
  if (!a_packed && last_mr != 0) {
    edge = edge_buf.get(size_t(mk.mr * kc));
    pack_a_panel(a_src, mk.mr, a_row0 + mc - last_mr, a_col0, last_mr, kc, edge);
  }
  for (int64_t jr = 0; jr < nc; jr += mk.nr) {
    const int64_t nr = std::min(mk.nr, nc - jr);
    for (int64_t ir = 0; ir < mc; ir += mk.mr) {
      const int64_t mr = std::min(mk.mr, mc - ir);
      const float* ap = a.base + (ir / mk.mr) * a.panel_step;
      int64_t rsa = a.rsa, csa = a.csa;
      if (mr < mk.mr && !a_packed) ap = edge, rsa = 1, csa = mk.mr;
      const float* b = pb + jr * kc;
      float* ct = c + ir * ldc + jr;
      if (mr == mk.mr && nr == mk.nr) {
        mk.fn(kc, ap, rsa, csa, b, ct, ldc, accumulate);
      } else {
        mk.fn(kc, ap, rsa, csa, b, tile, mk.nr, false);
        for (int64_t i = 0; i < mr; i++)
          for (int64_t j = 0; j < nr; j++) ct[i * ldc + j] = (accumulate ? ct[i * ldc + j] : 0.0f) + tile[i * mk.nr + j];
      }
    }
  }
}

// The micro-kernel only broadcasts single elements of A, so A needs no particular layout, and a
// row-major A is read in place: its MR rows are MR streams the prefetcher follows, and the block is
// reused from L2 as a packed one would be. Packing A still pays off when its MR rows (or columns)
// collide in the same cache sets (a stride that is a multiple of 4 KiB), when neither stride is 1,
// and for a big transposed A (each k is a new row of memory: a page per k, TLB misses).
bool should_pack_a(const MicroKernel& mk, MatrixRefF32 a, int64_t M, int64_t K) {
  if (mk.isa == Isa::scalar) return true;  // see microkernel_4x8_scalar
  const bool unit = a.col_stride == 1 || a.row_stride == 1;
  const int64_t far = a.col_stride == 1 ? a.row_stride : a.col_stride;
  return !unit || far % 1024 == 0 || (a.col_stride != 1 && M * K > (int64_t(1) << 16));
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Below this many multiply-adds a product runs on one thread: starting and joining a parallel
// region costs a few microseconds, which is what a 64^3 product takes on one core.
constexpr int64_t kThreadMinMacs = int64_t(1) << 18;

// All of B packed at once, for threads to share: the KC-row blocks one after another, each as its
// NR-column micro-panels, so panel (pc, jp) starts at pc * round_up(N, NR) + jp * kc. Split into
// `tasks` pieces for the threads: a row-major B by groups of rows (each row read once, in order), any
// other B by micro-panels.
int64_t whole_b_tasks(const MicroKernel& mk, MatrixRefF32 b, int64_t N, int64_t K) {
  const int64_t KC = std::min(mk.kc, K);
  return b.col_stride == 1 ? (K + 15) / 16 : (K + KC - 1) / KC * (round_up(N, mk.nr) / mk.nr);
}

void pack_whole_b_task(const MicroKernel& mk, MatrixRefF32 b, int64_t N, int64_t K, int64_t task, float* dst) {
  const int64_t KC = std::min(mk.kc, K), npad = round_up(N, mk.nr);
  if (b.col_stride == 1) {  // rows [16 task, 16 task + 16)
    for (int64_t k = task * 16; k < std::min(K, task * 16 + 16); k++) {
      const int64_t pc = k / KC * KC, kc = std::min(KC, K - pc);
      pack_b_row(b.data + k * b.row_stride, mk.nr, N, kc, dst + pc * npad + (k - pc) * mk.nr);
    }
    return;
  }
  const int64_t panels = npad / mk.nr;
  const int64_t pc = (task / panels) * KC, jp = (task % panels) * mk.nr;
  const int64_t kc = std::min(KC, K - pc);
  pack_b_panel(b, mk.nr, pc, jp, kc, std::min(mk.nr, N - jp), dst + pc * npad + jp * kc);
}

// The five loops on one thread. C is [M, N] with row stride ldc. b_packed: all of B already packed
// as pack_whole_b_task lays it out, or null to pack B here, a KC x NC panel at a time.
void packed_gemm(const MicroKernel& mk, MatrixRefF32 a, MatrixRefF32 b, float* c, int64_t ldc, int64_t M, int64_t N, int64_t K,
                 const float* b_packed = nullptr) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum
    for (int64_t i = 0; i < M; i++) std::memset(c + i * ldc, 0, size_t(N) * sizeof(float));
    return;
  }
  const int64_t KC = std::min(mk.kc, K), NC = std::min(mk.nc, round_up(N, mk.nr)), MC = std::min(mk.mc, round_up(M, mk.mr));
  float* pb_own = b_packed ? nullptr : pack_b_buf.get(size_t(KC * NC));
  const bool pack_a = should_pack_a(mk, a, M, K);
  float* pa = pack_a ? pack_a_buf.get(size_t(MC * KC)) : nullptr;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      // Pack B[pc:pc+kc, jc:jc+nc] into NR-column micro-panels (or find them packed).
      const float* pb = pb_own;
      if (b_packed)
        pb = b_packed + pc * round_up(N, mk.nr) + jc * kc;
      else
        pack_b_block(b, mk.nr, pc, jc, kc, nc, pb_own);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        APanels ap{a.data + ic * a.row_stride + pc * a.col_stride, mk.mr * a.row_stride, a.row_stride, a.col_stride};
        if (pack_a) {  // A[ic:ic+mc, pc:pc+kc] into MR-row micro-panels
          for (int64_t ip = 0; ip < mc; ip += mk.mr) pack_a_panel(a, mk.mr, ic + ip, pc, std::min(mk.mr, mc - ip), kc, pa + ip * kc);
          ap = APanels{pa, mk.mr * kc, 1, mk.mr};
        }
        macro_kernel(mk, ap, pack_a, a, ic, pc, pb, c + ic * ldc + jc, ldc, mc, nc, kc, pc > 0);
      }
    }
  }
}

}  // namespace

void matmul_v4_packed_simd(MatrixRefF32 a, MatrixRefF32 b, float* c, int64_t M, int64_t N, int64_t K, Isa isa) {
  packed_gemm(micro_kernel(isa), a, b, c, N, M, N, K);
}

// Threads split C into chunks of whole tiles along its longer side, and each runs the five loops on
// its chunk alone. Row chunks share B, which the threads pack together once before they start (one
// barrier); column chunks share A, which is read in place (or packed per chunk: should_pack_a).
// After that no thread waits for another until the end: on a 2-core machine shared with other
// work, a barrier inside the loops stalls both threads whenever one core is busy elsewhere. There
// are a few chunks per thread, handed out dynamically, for the same reason.
void matmul_v5_packed_simd_omp(MatrixRefF32 a, MatrixRefF32 b, float* c, int64_t M, int64_t N, int64_t K, Isa isa) {
  const MicroKernel& mk = micro_kernel(isa);
  const int threads = omp_in_parallel() || M * N * K < kThreadMinMacs ? 1 : omp_get_max_threads();
  const bool by_rows = M / mk.mr >= N / mk.nr;
  const int64_t tiles = by_rows ? (M + mk.mr - 1) / mk.mr : (N + mk.nr - 1) / mk.nr;
  const int64_t nchunks = std::min<int64_t>(tiles, threads == 1 ? 1 : 4 * threads);
  if (nchunks <= 1) {
    packed_gemm(mk, a, b, c, N, M, N, K);
    return;
  }
  const int64_t tiles_per_chunk = (tiles + nchunks - 1) / nchunks;
  // Row chunks all read the whole of B: pack it once, together, when it fits in 16 MiB (one barrier).
  const int64_t npad = round_up(N, mk.nr);
  const bool share_b = by_rows && K * npad <= (int64_t(1) << 22);
  float* pbw = share_b ? whole_b_buf.get(size_t(K * npad)) : nullptr;
  const int64_t b_tasks = share_b ? whole_b_tasks(mk, b, N, K) : 0;
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (int64_t task = 0; task < b_tasks; task++) pack_whole_b_task(mk, b, N, K, task, pbw);
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < nchunks; t++) {
      const int64_t t0 = t * tiles_per_chunk, t1 = std::min(tiles, t0 + tiles_per_chunk);
      if (t0 >= t1) continue;
      if (by_rows) {  // rows [i0, i1) of A and C
        const int64_t i0 = t0 * mk.mr, i1 = std::min(M, t1 * mk.mr);
        packed_gemm(mk, {a.data + i0 * a.row_stride, a.row_stride, a.col_stride}, b, c + i0 * N, N, i1 - i0, N, K, pbw);
      } else {  // columns [j0, j1) of B and C
        const int64_t j0 = t0 * mk.nr, j1 = std::min(N, t1 * mk.nr);
        packed_gemm(mk, a, {b.data + j0 * b.col_stride, b.row_stride, b.col_stride}, c + j0, N, M, j1 - j0, K);
      }
    }
  }
}

void matmul_v5_batched(int64_t nbatch, MatrixRefF32 a, const int64_t* a_offsets, MatrixRefF32 b, const int64_t* b_offsets, float* c,
                       int64_t M, int64_t N, int64_t K, Isa isa) {
  auto nth = [&](MatrixRefF32 m, const int64_t* offsets, int64_t i) { return MatrixRefF32{m.data + offsets[i], m.row_stride, m.col_stride}; };
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Several products: one product per thread (no barriers inside a product), unless the batch is
  // too short to keep the threads evenly busy and each product is big enough to split itself.
  const bool over_batch = threads > 1 && nbatch > 1 && nbatch * M * N * K >= kThreadMinMacs &&
                          (nbatch >= 4 * threads || M * N * K < 16 * kThreadMinMacs);
  if (over_batch) {
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int64_t i = 0; i < nbatch; i++) matmul_v4_packed_simd(nth(a, a_offsets, i), nth(b, b_offsets, i), c + i * M * N, M, N, K, isa);
  } else {
    for (int64_t i = 0; i < nbatch; i++)
      matmul_v5_packed_simd_omp(nth(a, a_offsets, i), nth(b, b_offsets, i), c + i * M * N, M, N, K, isa);
  }
}

}  // namespace lab
