// Lesson 00: what a tensor is, and how gradients flow backwards through what you compute with it.
// Part 1: storage plus a view; broadcasting; memory measured by the allocator; what bf16 and f16
// do to a number; a matmul checked against its definition. Part 2: a graph built by hand, its
// gradients against finite differences, then a small MLP trained with AdamW.
// README.md beside this file has the math and what to read next.
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "lessons/common/lesson.h"
#include "nn/mlp.h"
#include "optim/adamw.h"
#include "tensor/all.h"
#include "tensor/matmul_cpu.h"
#include "train/plot.h"
#include "train/progress.h"

#include <nlohmann/json.hpp>

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
  int64_t steps = 1500;
  app.add_option("--steps", steps, "AdamW steps of the MLP in part 2 (--quick: 150)")->check(CLI::Range(1, 1000000))->capture_default_str();
  double lr = 0.02;
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::Range(1e-6, 1.0))->capture_default_str();

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) n = std::min<int64_t>(n, 128), steps = std::min<int64_t>(steps, 150);
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

    lesson::section("6. A graph, by hand, and its gradients against finite differences");
    // L = sum(tanh(W x + b)^2): every op records how to send a gradient back (autograd/ops.h).
    Tensor W = ag::set_requires_grad(randn({3, 4}, gen, DType::f64), true, "W");
    Tensor x4 = ag::set_requires_grad(randn({4}, gen, DType::f64), true, "x");
    Tensor bias = ag::set_requires_grad(randn({3}, gen, DType::f64), true, "b");
    auto graph = [&] { return ag::sum(ag::pow(ag::tanh(ag::add(ag::matmul(W, x4), bias)), 2.0)); };
    Tensor L = graph();
    fmt::print("L = sum(tanh(W x + b)^2) = {:.6f}\n", L.item<double>());
    ag::backward(L);
    double worst_grad_diff = 0;
    for (const Tensor* leaf : {&W, &x4, &bias}) {
      // dL/dv_j ~ (L(v + eps e_j) - L(v - eps e_j)) / (2 eps), one element at a time
      Tensor numeric = zeros(leaf->shape(), DType::f64);
      const double eps = 1e-6;
      for (int64_t j = 0; j < leaf->numel(); j++) {
        ag::NoGradGuard no_grad;
        double* v = leaf->data<double>() + j;
        const double saved = *v;
        *v = saved + eps;
        double plus = graph().item<double>();
        *v = saved - eps;
        double minus = graph().item<double>();
        *v = saved;
        numeric.data<double>()[j] = (plus - minus) / (2 * eps);
      }
      worst_grad_diff = std::max(worst_grad_diff, lesson::compare("dL/d" + ag::name_of(*leaf), ag::grad(*leaf), numeric));
    }

    lesson::section("7. Training a small MLP with AdamW");
    // Two interleaved half-moons in the plane, one class each; the MLP maps a point to 2 logits.
    const int64_t points = 400;
    Tensor xs = Tensor::empty({points, 2});
    Tensor ys = Tensor::empty({points}, DType::i64);
    for (int64_t i = 0; i < points; i++) {
      const int64_t cls = i % 2;
      const double t = M_PI * gen.uniform();
      xs.at<float>({i, 0}) = float((cls ? 1.0 - std::cos(t) : std::cos(t)) + 0.1 * gen.normal());
      xs.at<float>({i, 1}) = float((cls ? 0.5 - std::sin(t) : std::sin(t)) + 0.1 * gen.normal());
      ys.at<int64_t>({i}) = cls;
    }
    xs = xs.to(opt.device), ys = ys.to(opt.device);
    nn::MLP mlp(2, 32, 2, gen);
    mlp.to(opt.device);
    mlp.name_parameters();
    AdamWOptions adamw;
    adamw.lr = lr;
    adamw.weight_decay = 0;
    AdamW optimizer(mlp.parameters(), adamw);
    fmt::print("MLP 2 -> 32 -> 2: {} parameters; {} points; {} full-batch AdamW steps, lr {}\n", mlp.num_parameters(), points, steps, lr);
    std::vector<std::vector<double>> rows;
    train::Series curve{"training loss", {}, {}};
    train::Progress progress(steps, "train");
    double loss_value = 0;
    for (int64_t step = 1; step <= steps; step++) {
      Tensor loss = ag::cross_entropy(mlp.forward(xs), ys);
      optimizer.zero_grad();
      ag::backward(loss);
      optimizer.step();
      loss_value = loss.item<double>();
      rows.push_back({double(step), loss_value});
      curve.x.push_back(double(step));
      curve.y.push_back(loss_value);
      progress.update(step, {{"loss", loss_value}});
    }
    progress.finish();
    double accuracy;
    {
      ag::NoGradGuard no_grad;
      Tensor predicted = argmax(mlp.forward(xs), 1);
      int64_t right = 0;
      std::vector<int64_t> p = predicted.to_vector<int64_t>(), t = ys.to_vector<int64_t>();
      for (int64_t i = 0; i < points; i++) right += p[size_t(i)] == t[size_t(i)];
      accuracy = double(right) / double(points);
    }
    fmt::print("final loss {:.4f}, accuracy {:.1f}% (chance: 50%)\n", loss_value, 100 * accuracy);

    train::write_csv(opt.out_dir + "/loss.csv", {"step", "loss"}, rows);
    train::write_svg_plot(opt.out_dir + "/loss.svg", {curve}, {"MLP on two moons: cross-entropy", "AdamW step", "loss", true});
    // The numbers the tests check (tests/lessons/test_lesson_00.cpp).
    nlohmann::json summary = {{"max_grad_diff", worst_grad_diff}, {"final_loss", loss_value}, {"accuracy", accuracy}, {"steps", steps}};
    lesson::write_summary(opt, summary);
    fmt::print("\nfigures written to {0}/memory.csv, {0}/loss.csv, {0}/loss.svg, {0}/summary.json\n", opt.out_dir);
  });
}
