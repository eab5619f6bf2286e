// Lesson 00: what a tensor is. Storage plus a view; broadcasting; memory measured by the
// allocator; what bf16 and f16 do to a number; a matmul checked against its definition and timed.
// README.md beside this file has the math and what to read next.
#include "lessons/common/lesson.h"
#include "tensor/all.h"
#include "tensor/matmul_cpu.h"

#include <chrono>
#include <cmath>
#include <fstream>

using namespace lab;

int main(int argc, char** argv) {
  CLI::App app{"Lesson 00: tensors: storage and views, broadcasting, memory, dtypes, matmul"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "00_tensors_autograd");
  int64_t n = 512;
  app.add_option("--matmul-size", n, "size of the square matmul that is checked and timed")->check(CLI::Range(1, 4096))->capture_default_str();

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) n = std::min<int64_t>(n, 128);
    Generator gen(opt.seed);

    lesson::section("1. A tensor is storage plus a view");
    // shape [3, 4], strides [4, 1]: element [i, j] lives at offset 4*i + j of the storage.
    Tensor t = arange(0, 12, 1, DType::f32, opt.device).view({3, 4});
    fmt::print("t = {}\nstrides {}\n\n", t, shape_str(t.strides()));
    Tensor tt = t.t();
    fmt::print("t.t() = {}\nstrides {} (swapped; no element moved), same storage: {}\n\n", tt, shape_str(tt.strides()),
               tt.shares_storage_with(t));
    Tensor col = t.slice(1, 1, 2);  // column 1: offset 1, stride 4
    col.fill_(-1);
    fmt::print("after filling the view t[:, 1:2] with -1, t = {}\n", t);

    lesson::section("2. Broadcasting");
    Tensor a = from_vector<float>({1, 2, 3}, {3, 1}).to(opt.device);
    Tensor b = from_vector<float>({10, 20, 30, 40}, {1, 4}).to(opt.device);
    fmt::print("[3, 1] + [1, 4] -> {}\n{}\n\n", shape_str((a + b).shape()), a + b);
    try {
      add(zeros({3}, DType::f32, opt.device), zeros({4}, DType::f32, opt.device));
    } catch (const Error& e) {
      fmt::print("[3] + [4] is refused:\n  {}\n", e.what());
    }

    lesson::section("3. Memory, measured by the allocator");
    std::ofstream csv(opt.out_dir + "/memory.csv");
    csv << "step,bytes_in_use\n";
    auto in_use = [&](const char* step) {
      size_t bytes = memory_stats(opt.device).current;
      fmt::print("  {:<40} {:>12}\n", step, format_bytes(bytes));
      csv << step << "," << bytes << "\n";
    };
    {
      in_use("before");
      Tensor w = randn({1024, 1024}, gen, DType::f32, opt.device);
      in_use("1024 x 1024 f32 (4 bytes each)");
      Tensor view = w.t().slice(0, 0, 512);
      in_use("+ a transposed half of it (a view)");
      Tensor half = w.to(DType::bf16);
      in_use("+ a bf16 copy (2 bytes each)");
    }
    in_use("after they go out of scope");

    lesson::section("4. What a 16-bit float keeps of a number");
    for (double x : {1.0 / 3.0, 3.14159265358979, 1000.1, 70000.0, 1e-6}) {
      Tensor v = full({}, x, DType::f64);
      auto keep = [&](DType d) { return v.to(d).to(DType::f64).item<double>(); };
      fmt::print("  {:<18.15g} f32 {:<18.10g} bf16 {:<14.8g} f16 {:.8g}\n", x, keep(DType::f32), keep(DType::bf16), keep(DType::f16));
    }
    fmt::print("bf16 keeps f32's range with 8 bits of precision; f16 keeps 11 bits but overflows past 65504.\n");

    lesson::section("5. matmul, checked against its definition, and timed");
    Tensor x = randn({n, n}, gen), y = randn({n, n}, gen);
    std::vector<float> want(size_t(n * n));
    matmul_naive<float>(x.data<float>(), y.data<float>(), want.data(), n, n, n);
    auto start = std::chrono::steady_clock::now();
    Tensor z = matmul(x.to(opt.device), y.to(opt.device)).to(Device::cpu());
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double worst = 0;
    const float* got = z.data<float>();
    for (int64_t i = 0; i < n * n; i++) worst = std::max(worst, double(std::fabs(got[i] - want[size_t(i)])));
    fmt::print("  C = A B with A, B [{0}, {0}] on {1}: max |C - C_naive| = {2:.2e}, {3:.1f} ms, {4:.2f} GFLOP/s (2 n^3 flops)\n", n,
               opt.device.str(), worst, seconds * 1e3, 2.0 * double(n) * double(n) * double(n) / seconds / 1e9);
    fmt::print("\nfigures written to {}/memory.csv\n", opt.out_dir);
  });
}
