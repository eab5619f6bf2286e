// Lesson 01: low rank, the idea LoRA stands on. Part 1: a 4x4 matrix that is one column times one
// row, found by an SVD written from scratch (tensor/linalg.h). Part 2: truncated SVD of a trained
// weight: error, energy and parameters against rank. Part 3: the LoRA hypothesis, measured: the
// change full fine-tuning makes to each weight has a spectrum that falls off fast, unlike a random
// matrix of the same size, and a rank-r piece of it keeps most of what fine-tuning gained.
// Part 4: LoRA's parameter count at GPT-3 and LLaMA scale (nn/lora_count.h).
// README.md beside this file has the math and what to read next.
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "lessons/common/lesson.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/lora_count.h"
#include "nn/sequential.h"
#include "optim/adamw.h"
#include "tensor/all.h"
#include "tensor/linalg.h"
#include "train/plot.h"
#include "train/progress.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

using namespace lab;

namespace {

struct Data {
  Tensor x, y;  // x [N, 2] f32, y [N] i64
};

// Points on `classes` spiral arms, the class is the arm; `twist` winds the arms further (radians at the rim).
// arm c: radius t, angle 2 pi c / classes + (4 + twist) t, plus noise; t ~ U(0.1, 1)
Data spiral(int64_t n, int64_t classes, double twist, Generator& gen, Device device) {
  Data d{Tensor::empty({n, 2}), Tensor::empty({n}, DType::i64)};
  for (int64_t i = 0; i < n; i++) {
    const int64_t c = i % classes;
    const double t = 0.1 + 0.9 * gen.uniform(), angle = 2 * M_PI * double(c) / double(classes) + (4 + twist) * t + 0.15 * gen.normal();
    d.x.at<float>({i, 0}) = float(t * std::cos(angle)), d.x.at<float>({i, 1}) = float(t * std::sin(angle));
    d.y.at<int64_t>({i}) = c;
  }
  return {d.x.to(device), d.y.to(device)};
}

double accuracy(nn::Sequential& net, const Data& d) {
  ag::NoGradGuard no_grad;
  std::vector<int64_t> p = argmax(net.forward(d.x), 1).to_vector<int64_t>(), t = d.y.to_vector<int64_t>();
  int64_t right = 0;
  for (size_t i = 0; i < p.size(); i++) right += p[i] == t[i];
  return double(right) / double(p.size());
}

double fit(nn::Sequential& net, const std::vector<Tensor>& params, const Data& d, int64_t steps, double lr, const std::string& label) {
  AdamWOptions o;
  o.lr = lr, o.weight_decay = 0;
  AdamW opt(params, o);
  train::Progress progress(steps, label);
  double loss_value = 0;
  for (int64_t step = 1; step <= steps; step++) {
    Tensor loss = ag::cross_entropy(net.forward(d.x), d.y);
    opt.zero_grad();
    ag::backward(loss);
    opt.step();
    loss_value = loss.item<double>();
    progress.update(step, {{"loss", loss_value}});
  }
  progress.finish();
  return loss_value;
}

double frobenius(const Tensor& a) {
  double s = 0;
  for (double x : a.to_vector<double>()) s += x * x;
  return std::sqrt(s);
}

// The share of ||A||_F^2 = sum S_i^2 held by the r largest singular values.
double energy_share(const std::vector<double>& S, int64_t r) {
  double top = 0, rest = 0;
  for (size_t i = 0; i < S.size(); i++) (int64_t(i) < r ? top : rest) += S[i] * S[i];
  return top / (top + rest);
}

// The smallest r whose share of the energy reaches `share`.
int64_t rank_for_energy(const std::vector<double>& S, double share) {
  int64_t r = 0;
  while (r < int64_t(S.size()) && energy_share(S, r) < share) r++;
  return r;
}

// 18874368 -> "18,874,368"
std::string commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); i++) out += (i > 0 && (digits.size() - i) % 3 == 0 ? "," : "") + std::string(1, digits[i]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 01: low rank: the SVD from scratch, truncation, and why fine-tuning updates are low rank"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "01_low_rank");
  int64_t hidden = 64, points = 1000, steps_a = 300, steps_b = 200;
  double twist = 2, lr_a = 1e-2, lr_b = 3e-3;
  app.add_option("--hidden", hidden, "width of the MLP's hidden layers")->check(CLI::Range(4, 512))->capture_default_str();
  app.add_option("--points", points, "points per task (--quick: 500)")->check(CLI::Range(30, 100000))->capture_default_str();
  app.add_option("--steps-a", steps_a, "AdamW steps of pretraining on task A (--quick: 150)")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--steps-b", steps_b, "AdamW steps of fine-tuning on task B (--quick: 100)")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--twist", twist, "how much further task B's arms wind than task A's, in radians at the rim")->capture_default_str();
  app.add_option("--lr-a", lr_a, "pretraining learning rate")->capture_default_str();
  app.add_option("--lr-b", lr_b, "fine-tuning learning rate")->capture_default_str();

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) points = std::min<int64_t>(points, 500), steps_a = std::min<int64_t>(steps_a, 150), steps_b = std::min<int64_t>(steps_b, 100);
    const auto start = std::chrono::steady_clock::now();
    Generator gen(opt.seed);
    nlohmann::json summary;

    lesson::section("1. A 4x4 matrix of rank 1");
    Tensor A = from_vector<double>({-8, -2, -6, 6, -4, -1, -3, 3, 28, 7, 21, -21, 24, 6, 18, -18}, {4, 4});
    SVD s = svd(A);
    std::vector<double> S = s.S.to_vector<double>();
    fmt::print("A = {}\nsingular values {::.3g}\nrank (S > S_max * 4 * eps): {}\n", A, S, matrix_rank(s));
    std::vector<double> u(4), v(4), col(4), row(4);
    // A = sigma_1 u v^T; the SVD fixes u and v up to a common sign: pick the one with u[0] < 0, as the column's
    const double sign = s.U.at<double>({0, 0}) < 0 ? 1 : -1;
    for (int64_t i = 0; i < 4; i++) u[size_t(i)] = sign * s.U.at<double>({i, 0}), v[size_t(i)] = sign * s.V.at<double>({i, 0});
    // rescaled: column = u * (-2 / u[0]) and row = v * sigma_1 * (u[0] / -2), so column row^T = sigma_1 u v^T still
    for (int64_t i = 0; i < 4; i++) col[size_t(i)] = u[size_t(i)] * (-2 / u[0]), row[size_t(i)] = v[size_t(i)] * S[0] * (u[0] / -2);
    fmt::print("the SVD's factors:  sigma_1 = {:.6f}  u = {::.6f}  v = {::.6f}\n", S[0], u, v);
    fmt::print("rescaled so the column starts at -2:  column = {::.6f}  row = {::.6f}\n", col, row);
    const double rank1_error = max(abs(low_rank_approx(s, 1) - A)).item<double>();
    fmt::print("max |A - column row^T| = {:.2e}: 16 numbers become {} (lora_parameters(4, 4, 1))\n", rank1_error, nn::lora_parameters(4, 4, 1));
    summary["part1"] = {{"rank", matrix_rank(s)}, {"sigma1", S[0]}, {"u", u}, {"v", v}, {"column", col}, {"row", row}, {"max_error", rank1_error}};

    lesson::section("2. Truncated SVD of a trained weight");
    // The network of part 3: 2 -> hidden -> hidden -> hidden -> 3, GELU, pretrained on task A.
    const int64_t classes = 3;
    Data task_a = spiral(points, classes, 0, gen, opt.device), task_b = spiral(points, classes, twist, gen, opt.device);
    nn::Sequential net(std::make_shared<nn::Linear>(2, hidden, gen), std::make_shared<nn::GELU>(), std::make_shared<nn::Linear>(hidden, hidden, gen),
                       std::make_shared<nn::GELU>(), std::make_shared<nn::Linear>(hidden, hidden, gen), std::make_shared<nn::GELU>(),
                       std::make_shared<nn::Linear>(hidden, classes, gen));
    net.to(opt.device);
    net.name_parameters();
    const std::vector<std::string> layers = {"0.weight", "2.weight", "4.weight", "6.weight"}, names = {"fc1", "fc2", "fc3", "head"};
    fit(net, net.parameters(), task_a, steps_a, lr_a, "pretrain on A");
    const double acc_a = accuracy(net, task_a), acc_b0 = accuracy(net, task_b);
    fmt::print("pretrained on task A (a {}-arm spiral): accuracy on A {:.1f}%, on B (its arms wound {} rad further) {:.1f}%\n\n", classes,
               100 * acc_a, twist, 100 * acc_b0);
    std::vector<Tensor> pre;
    for (const auto& l : layers) pre.push_back(net.parameter(l).to(Device::cpu()).to(DType::f64));
    // fc2's weight W [hidden, hidden]: each rank-r truncation, its error and what it costs
    SVD sw = svd(pre[1]);
    std::vector<double> SW = sw.S.to_vector<double>();
    std::vector<std::vector<double>> rows2;
    double eckart_young = 0;  // the largest |measured error - sqrt(sum of the dropped S_i^2)| / ||W||
    train::Series err{"relative error ||W - W_r|| / ||W||", {}, {}}, kept{"energy kept", {}, {}};
    fmt::print("{:>4} {:>12} {:>12} {:>14} {:>14} {:>12}\n", "r", "rel. error", "energy kept", "r*(d+k)", "of d*k", "acc. on A");
    for (int64_t r = 1; r <= hidden; r *= 2) {
      Tensor wr = low_rank_approx(sw, r);
      const double rel = frobenius(wr - pre[1]) / frobenius(pre[1]);
      // Eckart-Young: ||W - W_r||_F^2 = sum_{i >= r} S_i^2, the energy the truncation drops
      eckart_young = std::max(eckart_young, std::fabs(rel - std::sqrt(1 - energy_share(SW, r))));
      {
        ag::NoGradGuard no_grad;
        net.parameter(layers[1]).copy_(wr);
      }
      const double acc = accuracy(net, task_a);
      const int64_t p = nn::lora_parameters(hidden, hidden, r);
      fmt::print("{:>4} {:>12.4f} {:>11.1f}% {:>14} {:>13.1f}% {:>11.1f}%\n", r, rel, 100 * energy_share(SW, r), p, 100.0 * double(p) / double(hidden * hidden), 100 * acc);
      rows2.push_back({double(r), rel, energy_share(SW, r), double(p), double(hidden * hidden), acc});
      err.x.push_back(double(r)), err.y.push_back(rel), kept.x.push_back(double(r)), kept.y.push_back(energy_share(SW, r));
    }
    {
      ag::NoGradGuard no_grad;
      net.parameter(layers[1]).copy_(pre[1]);
    }
    fmt::print("measured error vs sqrt(sum of the dropped S_i^2) / ||W|| (Eckart-Young): max difference {:.1e}\n", eckart_young);
    fmt::print("d*k = {}; r*(d+k) passes it at r = dk/(d+k) = {}. W needs rank {} for 90% of its energy, {} for 99%\n", hidden * hidden,
               hidden / 2, rank_for_energy(SW, 0.9), rank_for_energy(SW, 0.99));
    summary["part2"] = {{"rank_90", rank_for_energy(SW, 0.9)}, {"rank_99", rank_for_energy(SW, 0.99)}, {"eckart_young_max_diff", eckart_young}, {"singular_values", SW}};
    train::write_csv(opt.out_dir + "/truncate_weight.csv", {"r", "rel_error", "energy_kept", "params_low_rank", "params_dense", "accuracy_A"}, rows2);
    train::write_svg_plot(opt.out_dir + "/truncate_weight.svg", {err, kept}, {"fc2 weight: rank-r truncation", "rank r", "", false});

    lesson::section("3. The LoRA hypothesis: fine-tuning changes are low rank");
    std::vector<Tensor> weights;  // fine-tune every weight matrix; biases stay pretrained, as LoRA's bias="none"
    for (const auto& l : layers) weights.push_back(net.parameter(l));
    fit(net, weights, task_b, steps_b, lr_b, "fine-tune on B");
    const double acc_b = accuracy(net, task_b);
    fmt::print("fully fine-tuned on B: accuracy on B {:.1f}% (pretrained: {:.1f}%)\n\n", 100 * acc_b, 100 * acc_b0);
    std::vector<SVD> deltas;
    std::vector<train::Series> spectra;
    std::vector<std::vector<double>> spectrum_rows(static_cast<size_t>(hidden));
    fmt::print("{:<6} {:>10} {:>12} {:>12} {:>10} {:>10} {:>10}\n", "layer", "shape", "top-4 dW", "top-4 rand", "r90% dW", "r90% rand", "r90% W");
    for (size_t l = 0; l < layers.size(); l++) {
      Tensor dw = net.parameter(layers[l]).to(Device::cpu()).to(DType::f64) - pre[l];
      // a random matrix of the same shape and Frobenius norm
      Tensor rnd = randn(dw.shape(), gen, DType::f64);
      rnd = rnd * (frobenius(dw) / frobenius(rnd));
      deltas.push_back(svd(dw));
      std::vector<double> sd = deltas.back().S.to_vector<double>(), sr = svd(rnd).S.to_vector<double>();
      fmt::print("{:<6} {:>10} {:>11.1f}% {:>11.1f}% {:>10} {:>10} {:>10}\n", names[l], shape_str(dw.shape()), 100 * energy_share(sd, 4),
                 100 * energy_share(sr, 4), rank_for_energy(sd, 0.9), rank_for_energy(sr, 0.9), rank_for_energy(svd(pre[l]).S.to_vector<double>(), 0.9));
      summary["part3"]["layers"][names[l]] = {{"top4_energy_delta", energy_share(sd, 4)}, {"top4_energy_random", energy_share(sr, 4)}, {"singular_values", sd}};
      if (dw.size(0) != hidden || dw.size(1) != hidden) continue;  // the spectra plot and CSV: fc2 and fc3
      train::Series a{names[l] + " dW", {}, {}}, b{names[l] + " random", {}, {}};
      for (size_t i = 0; i < sd.size(); i++) {
        a.x.push_back(double(i + 1)), a.y.push_back(sd[i] / sd[0]), b.x.push_back(double(i + 1)), b.y.push_back(sr[i] / sd[0]);
        spectrum_rows[i].insert(spectrum_rows[i].end(), {sd[i], sr[i]});
      }
      spectra.push_back(a), spectra.push_back(b);
    }
    fmt::print("(fc1 and head have only 2 and {} singular values: any change to them is low rank. fc2 and fc3 are the test.)\n", classes);
    for (size_t i = 0; i < spectrum_rows.size(); i++) spectrum_rows[i].insert(spectrum_rows[i].begin(), double(i + 1));
    train::write_csv(opt.out_dir + "/spectra.csv", {"i", "fc2_dW", "fc2_random", "fc3_dW", "fc3_random"}, spectrum_rows);
    train::write_svg_plot(opt.out_dir + "/spectra.svg", spectra, {"singular values / sigma_1 of dW: fine-tuning vs random", "i", "sigma_i / sigma_1(dW)", true});

    // W_r = W_pretrained + (dW truncated to rank r), every layer at once
    fmt::print("\n{:>6} {:>12} {:>22} {:>16}\n", "rank r", "accuracy B", "share of the gain kept", "params trained");
    std::vector<std::vector<double>> rows3;
    for (int64_t r : {0, 1, 2, 4, 8, 16, 9999}) {
      int64_t trained = 0;  // LoRA's A and B for rank r; every weight for full fine-tuning
      {
        ag::NoGradGuard no_grad;
        for (size_t l = 0; l < layers.size(); l++) {
          const int64_t rr = std::min<int64_t>(r, deltas[l].S.numel());
          net.parameter(layers[l]).copy_(pre[l] + low_rank_approx(deltas[l], rr));
          const Tensor& w = net.parameter(layers[l]);
          if (r == 9999) trained += w.numel();
          else if (rr > 0) trained += nn::lora_parameters(w.size(1), w.size(0), rr);
        }
      }
      const double acc = accuracy(net, task_b), gain = (acc - acc_b0) / (acc_b - acc_b0);
      const std::string label = r == 9999 ? "full" : std::to_string(r);
      fmt::print("{:>6} {:>11.1f}% {:>21.1f}% {:>16}\n", label, 100 * acc, 100 * gain, trained);
      rows3.push_back({double(r == 9999 ? -1 : r), acc, gain, double(trained)});
      summary["part3"]["truncation"][label] = {{"accuracy_B", acc}, {"gain_kept", gain}, {"parameters_trained", trained}};
    }
    train::write_csv(opt.out_dir + "/truncate_delta.csv", {"r", "accuracy_B", "gain_kept", "parameters_trained"}, rows3);
    summary["part3"]["accuracy_A_pretrained"] = acc_a, summary["part3"]["accuracy_B_pretrained"] = acc_b0, summary["part3"]["accuracy_B_finetuned"] = acc_b;

    lesson::section("4. LoRA's arithmetic at scale");
    struct Model {
      const char* name;
      int64_t layers, r, total;  // total: every parameter of the model
      std::vector<nn::LoraTarget> targets;
    };
    // GPT-3 175B (d 12288): 96 x (12 d^2 + 13 d) + (50257 + 2048) d + 2 d = 174.6e9; the GPT-3 paper rounds to 175B
    // LLaMA-7B (d 4096): 32 x (4 d^2 + 3 d 11008 + 2 d) + 2 x 32000 d + d = 6,738,415,616
    // GPT-2 small (d 768): 124,439,808 in its checkpoint; PEFT's default target for it is c_attn (Q, K, V fused)
    const int64_t g = 12288, l = 4096;
    std::vector<Model> models = {{"GPT-3 175B", 96, 4, 96 * (12 * g * g + 13 * g) + (50257 + 2048) * g + 2 * g, {{"W_q", g, g}, {"W_v", g, g}}},
                                 {"LLaMA-7B", 32, 8, 32 * (4 * l * l + 3 * l * 11008 + 2 * l) + 2 * 32000 * l + l, {{"q_proj", l, l}, {"v_proj", l, l}}},
                                 {"GPT-2", 12, 8, 124'439'808, {{"c_attn", 768, 2304}}}};
    fmt::print("{:<11} {:>3} {:>14} {:>16} {:>18} {:>10} {:>12}\n", "model", "r", "LoRA params", "those W in full", "whole model", "fraction", "fp16 adapter");
    for (const Model& m : models) {
      const int64_t lora = nn::lora_parameters(m.targets, m.layers, m.r), dense = nn::dense_parameters(m.targets, m.layers);
      fmt::print("{:<11} {:>3} {:>14} {:>16} {:>18} {:>9.4f}% {:>9.1f} MB\n", m.name, m.r, commas(lora), commas(dense), commas(m.total), 100.0 * double(lora) / double(m.total),
                 2.0 * double(lora) / 1e6);
      summary["part4"][m.name] = {{"lora_parameters", lora}, {"dense_parameters", dense}, {"model_parameters", m.total}};
    }

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary["seconds"] = seconds;
    lesson::write_summary(opt, summary);
    fmt::print("\n{:.1f} s. Figures in {}/: truncate_weight.csv/.svg, spectra.csv/.svg, truncate_delta.csv, summary.json\n", seconds, opt.out_dir);
  });
}
