// Lesson 08: every optimization step, measured. Runs each numbered version of a family at one
// modest size, checks it against its reference, and prints one table per family: version, best
// time, GFLOP/s (or GB/s), % of the yardstick, and the idea the step adds.
//   1. CPU f32 matmul v1-v5 (tensor/matmul_cpu.h) against v5: OpenBLAS is a bench-only dependency
//      (DESIGN.md), so `./lab bench matmul` is where v5 meets it.
//   2. GPU SGEMM v1-v8 (cuda/matmul.h) against the GPU's FP32 peak; only where a GPU is present.
//      cuBLAS beside them: bench/bench_cuda_sgemm.cpp.
//   3-6. CPU NF4 dequantization against memcpy, the fused NF4 matmul (GEMV, GEMM) against
//      dequantize-then-matmul, the fused LoRA / QLoRA forward against three matmuls (quant/).
//   7. The GPU's NF4 dequantization against cudaMemcpy, its NF4 matmuls and LoRA forwards (cuda/).
// Not here: the kernels themselves (README.md walks through them with the code beside each step).
#include "lessons/common/lesson.h"
#include "quant/lora_fused.h"
#include "quant/nf4.h"
#include "quant/nf4_kernels_cpu.h"
#include "quant/nf4_matmul_cpu.h"
#include "tensor/all.h"
#include "tensor/matmul_cpu.h"
#if LAB_HAS_CUDA
#include "cuda/lora_fused.h"
#include "cuda/matmul.h"
#include "cuda/nf4_kernels.h"
#include "cuda/runtime.h"
#endif

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

using namespace lab;
using namespace lab::quant;

namespace {

struct Row {
  std::string name, idea;
  double seconds = 0, rate = 0;  // rate: GFLOP/s or GB/s
  bool agrees = false;
};

// Seconds per call of f, the best of several: one warm-up call, then calls until min_seconds have
// passed and at least 3 were made. The minimum is the figure least disturbed by other programs.
double seconds_per_call(const std::function<void()>& f, double min_seconds) {
  using clock = std::chrono::steady_clock;
  f();
  double best = 1e300, total = 0;
  for (int calls = 0; calls < 3 || total < min_seconds; calls++) {
    const auto start = clock::now();
    f();
    const double t = std::chrono::duration<double>(clock::now() - start).count();
    best = std::min(best, t), total += t;
  }
  return best;
}

// Times `run`, rates it as `work` (FLOPs or bytes) / seconds / 1e9, and asks `check` about its output.
Row measure(const std::string& name, const std::string& idea, double work, double min_seconds, const std::function<void()>& run,
            const std::function<bool()>& check) {
  Row r{name, idea};
  r.seconds = seconds_per_call(run, min_seconds);
  r.rate = work / r.seconds / 1e9;
  r.agrees = check();
  return r;
}

// |got - want| <= scale * bound at every element (NaN fails). want and bound in f64 (a float64
// product and sum |a||b| of its terms). For f32 sums of K products, scale = 4 (K + 1) 2^-24: any
// order of summation stays within K 2^-24 of the exact sum relative to the bound (x2 on each side).
bool within(const std::vector<float>& got, const Tensor& want, const Tensor& bound, double scale) {
  const std::vector<double> w = want.to_vector<double>(), b = bound.to_vector<double>();
  for (size_t i = 0; i < got.size(); i++)
    if (!(std::abs(got[i] - w[i]) <= scale * b[i] + 1e-30)) return false;
  return got.size() == w.size();
}
double f32_scale(int64_t K) { return 4.0 * double(K + 1) * std::ldexp(1.0, -24); }
Tensor f64(const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); }

// Prints the table, writes <key>.csv, puts the rows in summary[key] and folds their agreement in.
void report(nlohmann::json& summary, bool& all_agree, const std::string& out_dir, const std::string& key, const std::string& unit,
            const std::string& yardstick, double yardstick_rate, const std::vector<Row>& rows) {
  fmt::print("  {:<30} {:>10} {:>9} {:>9} {:>6}  {}\n", "version", "best ms", unit, "% " + yardstick, "agrees", "the idea it adds");
  nlohmann::json out = nlohmann::json::array();
  std::ofstream csv(out_dir + "/" + key + ".csv");
  csv << "version,ms," << unit << ",percent_of_" << yardstick << ",agrees\n";
  for (const Row& r : rows) {
    const double pct = 100.0 * r.rate / yardstick_rate;
    fmt::print("  {:<30} {:>10.3f} {:>9.1f} {:>8.1f}% {:>6}  {}\n", r.name, r.seconds * 1e3, r.rate, pct, r.agrees ? "yes" : "NO", r.idea);
    out.push_back({{"name", r.name}, {"ms", r.seconds * 1e3}, {"rate", r.rate}, {"percent", pct}, {"agrees", r.agrees}});
    csv << r.name << ',' << r.seconds * 1e3 << ',' << r.rate << ',' << pct << ',' << (r.agrees ? 1 : 0) << '\n';
    all_agree = all_agree && r.agrees;
  }
  summary[key] = out;
}

// Under tests/cuda_emulator the "GPU" is the CPU running each CUDA thread in turn: its times say
// nothing about a GPU, and the tables must not look as if they did.
void note_if_emulated() {
#if LAB_HAS_CUDA
  if (cuda::device_name(0).find("emulator") != std::string::npos)
    fmt::print("(cuda:0 is the CUDA emulator, tests/cuda_emulator: these times are this CPU running every thread in turn,\n"
               " and say nothing about a GPU; only the 'agrees' column means what it says)\n");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 08: every optimization step of the matmul, NF4 and LoRA kernels, measured"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "08_kernels");
  int64_t cpu_size = 512, gpu_size = 2048;
  app.add_option("--cpu-size", cpu_size, "n of the CPU's n x n products (--quick: 64)")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--gpu-size", gpu_size, "n of the GPU's n x n products (--quick: 128)")->check(CLI::Range(1, 16384))->capture_default_str();

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) cpu_size = std::min<int64_t>(cpu_size, 64), gpu_size = std::min<int64_t>(gpu_size, 128);
    const double min_seconds = opt.quick ? 0.01 : 0.3;
    Generator gen(opt.seed);
    nlohmann::json summary;
    bool ok = true;

    lesson::section(fmt::format("1. CPU f32 matmul, {0} x {0} @ {0} x {0}, one version per step", cpu_size));
    {
      const int64_t n = cpu_size;
      const Tensor a = randn({n, n}, gen), b = randn({n, n}, gen);
      const Tensor want = matmul(f64(a), f64(b)), bound = matmul(abs(f64(a)), abs(f64(b)));
      const float *pa = a.data<float>(), *pb = b.data<float>();
      std::vector<float> c(size_t(n * n));
      const double flops = 2.0 * double(n) * double(n) * double(n);  // a multiply and an add per term
      std::vector<Row> rows;
      auto add_row = [&](const std::string& name, const std::string& idea, const std::function<void()>& run) {
        std::fill(c.begin(), c.end(), std::nanf(""));
        rows.push_back(measure(name, idea, flops, min_seconds, run, [&] { return within(c, want, bound, f32_scale(n)); }));
      };
      add_row("v1 naive i-j-k", "the definition; B read down a column", [&] { matmul_naive<float>(pa, pb, c.data(), n, n, n); });
      add_row("v2-v3 blocked i-k-j", "unit-stride inner loop in cache blocks, OpenMP", [&] { matmul_blocked<float>(pa, pb, c.data(), n, n, n); });
      std::vector<Isa> isas = supported_isas();
      std::sort(isas.begin(), isas.end());  // scalar, AVX2, AVX-512: the order of the steps
      for (Isa isa : isas)
        add_row(fmt::format("v4 packed {}", isa_name(isa)), "packed panels, register-blocked SIMD micro-kernel",
            [&] { matmul_v4_packed_simd({pa, n, 1}, {pb, n, 1}, c.data(), n, n, n, isa); });
      add_row("v5 packed + OpenMP", "v4 on every core: what lab::matmul uses", [&] { matmul_v5_packed_simd_omp({pa, n, 1}, {pb, n, 1}, c.data(), n, n, n); });
      report(summary, ok, opt.out_dir, "cpu", "GFLOP/s", "v5", rows.back().rate, rows);
      fmt::print("The yardstick is v5: OpenBLAS is a bench-only dependency, so `./lab bench matmul` puts v5 beside it.\n");
      summary["cpu_size"] = n;
    }

    lesson::section(fmt::format("2. GPU SGEMM, {0} x {0} @ {0} x {0}, one version per step", gpu_size));
#if LAB_HAS_CUDA
    if (cuda_available()) {
      const int64_t n = gpu_size;
      const Device gpu = Device::cuda(0);
      const Tensor a = randn({n, n}, gen), b = randn({n, n}, gen);
      const Tensor want = matmul(f64(a), f64(b)), bound = matmul(abs(f64(a)), abs(f64(b)));
      const Tensor ga = a.to(gpu), gb = b.to(gpu), gc = empty({n, n}, DType::f32, gpu);
      const cuda::MatmulShape s{1, n, n, n, 0, 0};
      const cuda::Fp32Peak peak = cuda::fp32_peak(0);
      const double u = std::ldexp(1.0, -8);  // bf16's unit roundoff: v8's products are within 2u + u^2
      struct Version {
        const char* name;
        void (*fn)(float*, const float*, const float*, const cuda::MatmulShape&);
        double extra_scale;
        const char* idea;
      };
      const std::vector<Version> versions = {
          {"v1 naive", cuda::matmul_v1_naive_f32, 0, "a thread per output, a warp down a column"},
          {"v2 coalesced", cuda::matmul_v2_coalesced_f32, 0, "a warp along a row: 128-byte loads"},
          {"v3 smem tiled", cuda::matmul_v3_smem_tiled_f32, 0, "32x32 tiles staged in shared memory"},
          {"v4 1-D block tiling", cuda::matmul_v4_blocktiling_1d_f32, 0, "8 outputs a thread, B from a register"},
          {"v5 2-D block tiling", cuda::matmul_v5_blocktiling_2d_f32, 0, "8x8 outputs a thread, outer products"},
          {"v6 vectorized", cuda::matmul_v6_vectorized_f32, 0, "float4 loads, A transposed in smem"},
          {"v7 warp tiling", cuda::matmul_v7_warptiling_f32, 0, "a warp owns 64x64: conflict-free smem"},
          {"v8 bf16 tensor cores", cuda::matmul_v8_bf16_wmma, 2 * u + u * u, "WMMA 16x16x16 on bf16, f32 sums"},
      };
      std::vector<Row> rows;
      for (const Version& v : versions) {
        gc.fill_(std::nan(""));
        const auto run = [&] {
          v.fn(gc.data<float>(), ga.data<float>(), gb.data<float>(), s);
          cuda::synchronize();
        };
        rows.push_back(measure(v.name, v.idea, 2.0 * double(n) * double(n) * double(n), min_seconds, run,
                               [&] { return within(gc.to_vector<float>(), want, bound, f32_scale(n) + v.extra_scale); }));
      }
      report(summary, ok, opt.out_dir, "gpu", "GFLOP/s", "peak", peak.gflops, rows);
      fmt::print("GPU: {}; FP32 peak (no tensor cores): {}\n", cuda::device_name(0), peak.how);
      fmt::print("v8 can pass 100% of the FP32 peak: tensor cores are another unit. cuBLAS beside every version: ./lab bench cuda_sgemm\n");
      note_if_emulated();
      summary["gpu_size"] = n;
      summary["gpu_peak_gflops"] = peak.gflops;
    } else {
      fmt::print("No GPU here ({}): the GPU family is skipped.\n", cuda_unavailable_reason());
      summary["gpu_skipped"] = cuda_unavailable_reason();
    }
#else
    fmt::print("This build has no CUDA (nvcc was not found): the GPU family is skipped.\n");
    summary["gpu_skipped"] = "built without CUDA";
#endif

    // An NF4 weight W [N, K] (blocks of 64), its dequantized f32 copy, for sections 3-7.
    const int64_t N = opt.quick ? 128 : 1024, K = N, rows_x = opt.quick ? 16 : 256, rank = opt.quick ? 4 : 16;
    const Tensor w = randn({N, K}, gen);
    std::vector<uint8_t> packed(size_t((N * K + 1) / 2));
    std::vector<float> absmax(size_t(num_blocks(N * K, 64))), w_deq(size_t(N * K));
    quantize_nf4_ref(w.data<float>(), N * K, 64, packed.data(), absmax.data());
    dequantize_nf4_ref(packed.data(), absmax.data(), N * K, 64, w_deq.data());
    const Nf4MatrixRef wq{packed.data(), absmax.data(), 64, N, K};
    const Tensor w_deq_t = from_vector(w_deq, {N, K});

    // For dequantization, 16 weights' worth of codes (past the caches) and their reference values.
    const int64_t n = N * K * 16;
    std::vector<uint8_t> big_packed(size_t(n / 2));
    std::vector<float> big_absmax(size_t(num_blocks(n, 64))), want_deq(static_cast<size_t>(n)), out(static_cast<size_t>(n));
    for (size_t i = 0; i < big_packed.size(); i++) big_packed[i] = packed[i % packed.size()];
    for (size_t i = 0; i < big_absmax.size(); i++) big_absmax[i] = absmax[i % absmax.size()];
    dequantize_nf4_ref(big_packed.data(), big_absmax.data(), n, 64, want_deq.data());

    lesson::section(fmt::format("3. CPU NF4 dequantization of {} values, GB/s of f32 output", n));
    {
      const std::vector<float> src(static_cast<size_t>(n), 1.0f);
      std::vector<Row> rows;
      for (const Nf4DequantVersion& v : nf4_dequant_versions())
        rows.push_back(measure(v.name, v.idea, 4.0 * double(n), min_seconds, [&] { v.fn(big_packed.data(), big_absmax.data(), n, 64, out.data()); },
                               [&] { return std::memcmp(out.data(), want_deq.data(), out.size() * 4) == 0; }));
      rows.push_back(measure("memcpy (yardstick)", "copy the f32 output's bytes: what a store-bound kernel can reach", 4.0 * double(n), min_seconds,
                             [&] { std::memcpy(out.data(), src.data(), size_t(n) * 4); }, [&] { return out[n - 1] == 1.0f; }));
      report(summary, ok, opt.out_dir, "nf4_dequant", "GB/s", "memcpy", rows.back().rate, rows);
      fmt::print("Every version must give the reference's bits (one multiply, the same operands).\n");
    }

    for (const int64_t m : {int64_t(1), rows_x}) {
      const std::string key = m == 1 ? "nf4_gemv" : "nf4_gemm";
      lesson::section(fmt::format("{}. CPU y = x W^T with W [{}, {}] in NF4, x [{}, {}] ({})", m == 1 ? 4 : 5, N, K, m, K, m == 1 ? "GEMV" : "GEMM"));
      const Tensor x = randn({m, K}, gen);
      const Tensor want = matmul(f64(x), f64(w_deq_t).t()), bound = matmul(abs(f64(x)), abs(f64(w_deq_t)).t());
      std::vector<float> y(size_t(m * N));
      std::vector<Row> rows;
      for (const Nf4MatmulVersion& v : nf4_matmul_versions())
        rows.push_back(measure(v.name, v.idea, 2.0 * double(m) * double(N) * double(K), min_seconds, [&] { v.fn(x.data<float>(), m, wq, y.data()); },
                               [&] { return within(y, want, bound, f32_scale(K)); }));
      report(summary, ok, opt.out_dir, key, "GFLOP/s", "dequant", rows.front().rate, rows);  // vs dequantize-then-matmul
    }

    // The LoRA adapter of sections 6 and 7, and y's float64 reference and bound on each base (0: f32 W, 1: NF4 W).
    const Tensor x_l = randn({rows_x, K}, gen), A = mul(randn({rank, K}, gen), 0.1), B = mul(randn({N, rank}, gen), 0.1);
    const float scaling = 2.0f;
    const double lora_flops = 2.0 * double(rows_x) * (double(N) * double(K) + double(rank) * double(K) + double(N) * double(rank));
    Tensor lora_want[2], lora_bound[2];
    for (int base = 0; base < 2; base++) {
      const Tensor wt = base == 1 ? w_deq_t : w;
      // y = x W^T + s (x A^T) B^T, and the same with |x|, |W|, |A|, |B|
      lora_want[base] = add(matmul(f64(x_l), f64(wt).t()), mul(matmul(matmul(f64(x_l), f64(A).t()), f64(B).t()), scaling));
      lora_bound[base] = add(matmul(abs(f64(x_l)), abs(f64(wt)).t()), mul(matmul(matmul(abs(f64(x_l)), abs(f64(A)).t()), abs(f64(B)).t()), scaling));
    }

    lesson::section(fmt::format("6. CPU LoRA forward y = x W^T + s (x A^T) B^T, x [{}, {}], W [{}, {}], rank {}", rows_x, K, N, K, rank));
    {
      const LoraRef lora{A.data<float>(), B.data<float>(), rank, scaling};
      std::vector<float> y(size_t(rows_x * N));
      std::vector<Row> rows;
      for (const int base : {0, 1})
        for (const LoraForwardVersion& v : lora_forward_versions()) {
          const auto run = [&] {
            if (base == 1) v.nf4_base(x_l.data<float>(), rows_x, wq, lora, y.data());
            else v.f32_base(x_l.data<float>(), rows_x, w.data<float>(), N, K, lora, y.data());
          };
          rows.push_back(measure(fmt::format("{} ({} W)", v.name, base == 1 ? "NF4" : "f32"), v.idea, lora_flops, min_seconds, run,
                                 [&] { return within(y, lora_want[base], lora_bound[base], f32_scale(K + rank)); }));
        }
      report(summary, ok, opt.out_dir, "lora", "GFLOP/s", "unfused", rows.front().rate, rows);
      fmt::print("The yardstick is the unfused f32 forward: three matmuls, as LoRALinear's autograd ops run them.\n");
    }

    lesson::section("7. GPU NF4 dequantization, NF4 matmul and LoRA forward (cuda/nf4_kernels.h, cuda/lora_fused.h)");
#if LAB_HAS_CUDA
    if (cuda_available()) {
      const Device gpu = Device::cuda(0);
      const cuda::NF4Table table = nf4_gpu_table();
      const Tensor g_packed = from_vector(big_packed).to(gpu), g_absmax = from_vector(big_absmax).to(gpu);
      const Tensor g_out = empty({n}, DType::f32, gpu), g_src = full({n}, 1.0, DType::f32, gpu);
      cuda::NF4Weight wg;
      wg.packed = g_packed.data<uint8_t>(), wg.n = n, wg.blocksize = 64, wg.absmax = g_absmax.data<float>();
      std::vector<Row> rows;
      for (const cuda::Nf4DequantGpuVersion& v : cuda::nf4_dequant_gpu_versions())
        rows.push_back(measure(v.name, v.idea, 4.0 * double(n), min_seconds, [&] {
                                 v.fn(g_out.data<float>(), wg, table);
                                 cuda::synchronize();
                               },
                               [&] {
                                 const std::vector<float> got = g_out.to_vector<float>();
                                 return std::memcmp(got.data(), want_deq.data(), got.size() * 4) == 0;
                               }));
      const auto copy = [&] { cuda::memcpy(g_out.data<float>(), g_src.data<float>(), size_t(n) * 4, cuda::CopyKind::device_to_device); };
      rows.push_back(measure("cudaMemcpy D2D (yardstick)", "copy the f32 output's bytes on the device", 4.0 * double(n), min_seconds, copy,
                             [&] { return g_out.to_vector<float>().back() == 1.0f; }));
      report(summary, ok, opt.out_dir, "gpu_nf4_dequant", "GB/s", "memcpy", rows.back().rate, rows);

      const Tensor g_wpacked = from_vector(packed).to(gpu), g_wabsmax = from_vector(absmax).to(gpu), scratch = empty({K * N}, DType::f32, gpu);
      cuda::NF4Weight wgq;
      wgq.packed = g_wpacked.data<uint8_t>(), wgq.n = N * K, wgq.blocksize = 64, wgq.absmax = g_wabsmax.data<float>();
      for (const int64_t m : {int64_t(1), rows_x}) {
        const Tensor x = randn({m, K}, gen), gx = x.to(gpu), gy = empty({m, N}, DType::f32, gpu);
        const Tensor want_y = matmul(f64(x), f64(w_deq_t).t()), bound = matmul(abs(f64(x)), abs(f64(w_deq_t)).t());
        fmt::print("y = x W^T, x [{}, {}] ({}):\n", m, K, m == 1 ? "GEMV" : "GEMM");
        rows.clear();
        for (const cuda::Nf4MatmulGpuVersion& v : cuda::nf4_matmul_gpu_versions())
          rows.push_back(measure(v.name, v.idea, 2.0 * double(m) * double(N) * double(K), min_seconds,
                                 [&] {
                                   v.fn(gy.data<float>(), gx.data<float>(), m, wgq, N, K, scratch.data<float>(), table);
                                   cuda::synchronize();
                                 },
                                 [&] { return within(gy.to_vector<float>(), want_y, bound, f32_scale(K)); }));
        report(summary, ok, opt.out_dir, m == 1 ? "gpu_nf4_gemv" : "gpu_nf4_gemm", "GFLOP/s", "dequant", rows.front().rate, rows);
      }

      // The unfused forwards take W^T, A^T, B^T (matmul_f32's right operands); the fused ones nn::Linear's layouts.
      fmt::print("LoRA forward, x [{}, {}], rank {}:\n", rows_x, K, rank);
      const Tensor gx = x_l.to(gpu), gw = w.to(gpu), gwt = w.t().contiguous().to(gpu), ga = A.to(gpu), gb = B.to(gpu);
      const Tensor gat = A.t().contiguous().to(gpu), gbt = B.t().contiguous().to(gpu), gy = empty({rows_x, N}, DType::f32, gpu);
      const Tensor st = empty({rows_x * rank}, DType::f32, gpu), su = empty({rows_x * N}, DType::f32, gpu);
      const cuda::LoraGpu lg{ga.data<float>(), gb.data<float>(), rank, scaling};
      const cuda::LoraGpuTransposed lt{gat.data<float>(), gbt.data<float>(), rank, scaling};
      float *y = gy.data<float>(), *t = st.data<float>(), *u = su.data<float>();
      const float* x = gx.data<float>();
      const std::vector<std::tuple<const char*, const char*, int, std::function<void()>>> lora_runs = {
          {"unfused (f32 W)", "matmul_f32 three times, then y += s U", 0, [&] { cuda::lora_forward_unfused_f32(y, x, rows_x, gwt.data<float>(), N, K, lt, t, u); }},
          {"fused (f32 W)", "one tiled x W^T, s (x A^T) B^T added before the store", 0,
           [&] { cuda::lora_forward_fused_f32(y, x, rows_x, gw.data<float>(), N, K, lg, t); }},
          {"unfused (NF4 W)", "W^T dequantized, then as unfused", 1,
           [&] { cuda::qlora_forward_unfused_f32(y, x, rows_x, wgq, N, K, lt, t, u, scratch.data<float>(), table); }},
          {"fused (NF4 W)", "W dequantized into shared memory tile by tile", 1, [&] { cuda::qlora_forward_fused_f32(y, x, rows_x, wgq, N, K, lg, t, table); }},
      };
      rows.clear();
      for (const auto& [name, idea, base_index, forward] : lora_runs) {
        const int base = base_index;  // the lambdas below capture these, not the bindings (clang before 16 cannot)
        const std::function<void()>& f = forward;
        const auto run = [&] {
          f();
          cuda::synchronize();
        };
        rows.push_back(measure(name, idea, lora_flops, min_seconds, run,
                               [&] { return within(gy.to_vector<float>(), lora_want[base], lora_bound[base], f32_scale(K + rank)); }));
      }
      report(summary, ok, opt.out_dir, "gpu_lora", "GFLOP/s", "unfused", rows.front().rate, rows);
      note_if_emulated();
    } else {
      fmt::print("No GPU here: skipped.\n");
    }
#else
    fmt::print("This build has no CUDA: skipped.\n");
#endif

    summary["all_agree"] = ok;
    lesson::write_summary(opt, summary);
    fmt::print("\nEvery version agrees with its reference within its bound: {}\n", ok ? "yes" : "NO");
    LAB_CHECK(ok, "a version disagreed with its reference (see the tables above) (HINT: run its tests: ctest -R 'matmul|nf4|lora')");
  });
}
