// Lesson 02: int8 quantization, the first step from 32 bits a weight towards QLoRA's 4.
// Rounding to a grid (ties to even); absmax against zero-point on skewed data; per-tensor, per-row
// and per-block scales; what one outlier does to a per-tensor scale; LLM.int8()'s vector-wise matmul
// with its outlier columns in f32, error before and after; the memory of f32 and int8 copies, read
// from the allocator. README.md beside this file has the math and what to read next.
#include "autograd/autograd.h"
#include "lessons/common/lesson.h"
#include "nn/linear.h"
#include "quant/int8.h"
#include "quant/int8_matmul.h"
#include "quant/linear8bit.h"
#include "tensor/all.h"
#include "train/plot.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>

using namespace lab;
using namespace lab::quant;

namespace {

double rmse_of(const Tensor& x, Int8Scheme s, Granularity g, int64_t block = 64) {
  return quant_error(x, dequantize(quantize_int8(x, s, g, block))).rmse;
}

// How many of the 256 int8 codes a quantized tensor actually uses.
size_t codes_used(const Int8Tensor& t) {
  const std::vector<int8_t> q = t.q.to_vector<int8_t>();
  return std::set<int8_t>(q.begin(), q.end()).size();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 02: int8: absmax and zero-point, per tensor/row/block, outliers and LLM.int8()"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "02_int8");
  int64_t size = 1024;
  app.add_option("--size", size, "rows and columns of the matrices, a multiple of 64 (--quick: 256)")->check(CLI::Range(64, 8192))->capture_default_str();
  double threshold = 6.0;
  app.add_option("--threshold", threshold, "LLM.int8() outlier threshold (0 turns the decomposition off)")->check(CLI::Range(0.0, 1e6))->capture_default_str();

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) size = std::min<int64_t>(size, 256);
    LAB_CHECK(size % 64 == 0, "--size must be a multiple of 64 (blocks of 64 may not straddle rows), got {}", size);
    Generator gen(opt.seed);
    const Device dev = opt.device;
    nlohmann::json summary;

    lesson::section("1. Rounding onto the int8 grid");
    // absmax 127 makes the step exactly 1: each value is its own code before rounding
    const Tensor ties = from_vector<float>({127, 0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f}).to(dev);
    const Int8Tensor tq = quantize_int8(ties, Int8Scheme::absmax, Granularity::per_tensor);
    std::vector<int> tie_codes;
    for (int8_t c : tq.q.to_vector<int8_t>()) tie_codes.push_back(c);
    fmt::print("x     = {}\ncodes = {}   (scale {}: ties go to the even neighbour, so 0.5 -> 0, 1.5 -> 2, 2.5 -> 2)\n",
               ties.to_vector<float>(), tie_codes, tq.scale.item<float>());
    summary["tie_codes"] = tie_codes;

    lesson::section("2. absmax against zero-point on skewed data");
    std::vector<std::vector<double>> skew_rows;
    fmt::print("  {:<22} {:>14} {:>10} {:>16} {:>10}\n", "data (4096 values)", "absmax rmse", "codes", "zero-point rmse", "codes");
    const Tensor half_normal = abs(randn({4096}, gen)).to(dev), gelu_out = gelu(randn({4096}, gen)).to(dev);
    int row = 0;
    for (const auto& [name, x] : {std::pair{"|N(0,1)|", half_normal}, std::pair{"gelu(N(0,1))", gelu_out}}) {
      const Int8Tensor a = quantize_int8(x, Int8Scheme::absmax, Granularity::per_tensor);
      const Int8Tensor z = quantize_int8(x, Int8Scheme::zero_point, Granularity::per_tensor);
      const double ea = quant_error(x, dequantize(a)).rmse, ez = quant_error(x, dequantize(z)).rmse;
      fmt::print("  {:<22} {:>14.5f} {:>10} {:>16.5f} {:>10}\n", name, ea, codes_used(a), ez, codes_used(z));
      skew_rows.push_back({double(row++), ea, ez, double(codes_used(a)), double(codes_used(z))});
    }
    fmt::print("absmax spends half its codes on negatives the data never has; zero-point maps [min, max] onto all 256.\n");
    summary["skewed_rmse_absmax"] = skew_rows[0][1];
    summary["skewed_rmse_zero_point"] = skew_rows[0][2];
    train::write_csv(opt.out_dir + "/skewed.csv", {"data(0=half-normal,1=gelu)", "rmse_absmax", "rmse_zero_point", "codes_absmax", "codes_zero_point"},
                      skew_rows);

    lesson::section("3. One scale per tensor, per row, or per block");
    // a weight-like matrix: N(0,1) entries, each row at its own scale exp(N(0, 0.5^2))
    Tensor w = randn({size, size}, gen);
    for (int64_t i = 0; i < size; i++) {
      const float s = std::exp(0.5f * gen.normal());
      for (int64_t j = 0; j < size; j++) w.at<float>({i, j}) *= s;
    }
    w = w.to(dev);
    fmt::print("  W [{0}, {0}], rows at different scales\n", size);
    fmt::print("  {:<26} {:>12} {:>10} {:>10} {:>10}\n", "absmax", "bits/param", "max abs", "rmse", "rel frob");
    for (Granularity g : {Granularity::per_tensor, Granularity::per_row, Granularity::per_block}) {
      const Int8Tensor t = quantize_int8(w, Int8Scheme::absmax, g, 64);
      const QuantError e = quant_error(w, dequantize(t));
      const double bits = 8.0 * double(t.nbytes()) / double(w.numel());
      const std::string label = g == Granularity::per_block ? "per-block (64)" : granularity_name(g);
      fmt::print("  {:<26} {:>12.4f} {:>10.4f} {:>10.5f} {:>10.5f}\n", label, bits, e.max_abs, e.rmse, e.rel_frobenius);
      summary[std::string("rmse_") + granularity_name(g)] = e.rmse;
    }
    // the curve: error against block size, both schemes
    std::vector<std::vector<double>> sweep;
    train::Series abs_curve{"absmax", {}, {}}, zp_curve{"zero-point", {}, {}};
    for (int64_t block = 8; block <= size; block *= 2) {
      if (size % block != 0) continue;
      const double ea = rmse_of(w, Int8Scheme::absmax, Granularity::per_block, block);
      const double ez = rmse_of(w, Int8Scheme::zero_point, Granularity::per_block, block);
      sweep.push_back({double(block), ea, ez, 8 + 32.0 / double(block), 8 + 40.0 / double(block)});
      abs_curve.x.push_back(std::log2(double(block))), abs_curve.y.push_back(ea);
      zp_curve.x.push_back(std::log2(double(block))), zp_curve.y.push_back(ez);
    }
    train::write_csv(opt.out_dir + "/block_size.csv", {"block", "rmse_absmax", "rmse_zero_point", "bits_absmax", "bits_zero_point"}, sweep);
    train::write_svg_plot(opt.out_dir + "/block_size.svg", {abs_curve, zp_curve}, {"int8 RMSE against block size", "log2(block size)", "RMSE", false});
    fmt::print("block sizes 8..{}: written to block_size.csv/.svg (smaller blocks: less error, more bits for scales)\n", size);

    lesson::section("4. What one outlier does");
    const Tensor base = randn({size, size}, gen);
    std::vector<std::vector<double>> outlier_rows;
    train::Series s_tensor{"per-tensor", {}, {}}, s_row{"per-row", {}, {}}, s_block{"per-block (64)", {}, {}};
    fmt::print("  N(0,1) [{0}, {0}] with x[0, 0] set to m\n", size);
    fmt::print("  {:>8} {:>12} {:>12} {:>14} {:>18}\n", "m", "per-tensor", "per-row", "per-block 64", "zeroed (per-tensor)");
    for (double m : {4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0}) {
      Tensor x = base.clone();
      x.at<float>({0, 0}) = float(m);
      x = x.to(dev);
      const Int8Tensor t = quantize_int8(x, Int8Scheme::absmax, Granularity::per_tensor);
      const std::vector<int8_t> q = t.q.to_vector<int8_t>();
      const double zeroed = double(std::count(q.begin(), q.end(), int8_t(0))) / double(q.size());
      const double et = quant_error(x, dequantize(t)).rmse;
      const double er = rmse_of(x, Int8Scheme::absmax, Granularity::per_row), eb = rmse_of(x, Int8Scheme::absmax, Granularity::per_block);
      fmt::print("  {:>8} {:>12.5f} {:>12.5f} {:>14.5f} {:>17.1f}%\n", m, et, er, eb, 100 * zeroed);
      outlier_rows.push_back({m, et, er, eb, zeroed});
      s_tensor.x.push_back(m), s_tensor.y.push_back(et), s_row.x.push_back(m), s_row.y.push_back(er), s_block.x.push_back(m), s_block.y.push_back(eb);
      if (m == 4.0) summary["no_outlier_rmse_per_tensor"] = et;
      if (m == 128.0) {
        summary["outlier_rmse_per_tensor"] = et;
        summary["outlier_rmse_per_row"] = er;
        summary["outlier_rmse_per_block"] = eb;
        summary["outlier_zeroed_fraction"] = zeroed;
      }
    }
    train::write_csv(opt.out_dir + "/outlier.csv", {"outlier", "rmse_per_tensor", "rmse_per_row", "rmse_per_block", "zeroed_per_tensor"}, outlier_rows);
    train::write_svg_plot(opt.out_dir + "/outlier.svg", {s_tensor, s_row, s_block}, {"one outlier of size m: int8 RMSE", "m", "RMSE", true});
    fmt::print("the scale follows the largest value: one 128 makes the step 128/127 ~ 1, and most N(0,1) values round to 0.\n");

    lesson::section("5. LLM.int8(): outlier columns through f32");
    // activations [tokens, K] with a few feature columns 20x larger, as LLM.int8() finds in big models
    const int64_t tokens = size / 4, K = size, N = size;
    Tensor x = randn({tokens, K}, gen);
    const std::vector<int64_t> planted = {7, K / 3, K / 3 + 1, K / 2, K - 5, K - 1};
    for (int64_t c : planted)
      for (int64_t r = 0; r < tokens; r++) x.at<float>({r, c}) *= 20.0f;
    x = x.to(dev);
    const Tensor wl = mul(randn({N, K}, gen), 1.0 / std::sqrt(double(K))).to(dev);
    const Tensor exact = matmul(x, wl.t());
    const Int8Rows wq = quantize_rows(wl);
    // per-tensor int8 on both sides, simulated: dequantize, then an f32 matmul
    const Tensor per_tensor = matmul(dequantize(quantize_int8(x, Int8Scheme::absmax, Granularity::per_tensor)),
                                     dequantize(quantize_int8(wl, Int8Scheme::absmax, Granularity::per_tensor)).t());
    std::vector<int64_t> found;
    const QuantError e_tensor = quant_error(exact, per_tensor);
    const QuantError e_vector = quant_error(exact, llm_int8_matmul(x, wq, Tensor(), 0.0));
    const QuantError e_split = quant_error(exact, llm_int8_matmul(x, wq, Tensor(), threshold, &found));
    fmt::print("  X [{}, {}] with {} outlier columns, W [{}, {}]; relative Frobenius error of X W^T:\n", tokens, K, planted.size(), N, K);
    fmt::print("  {:<44} {:.5f}\n  {:<44} {:.5f}\n  {:<44} {:.5f}\n", "per-tensor int8", e_tensor.rel_frobenius,
               "vector-wise int8 (LLM.int8 without outliers)", e_vector.rel_frobenius,
               fmt::format("vector-wise + outlier columns in f32 (>= {})", threshold), e_split.rel_frobenius);
    fmt::print("  columns sent through f32: {} of {} ({:.2f}% of the matmul): {}\n", found.size(), K, 100.0 * double(found.size()) / double(K), found);
    train::write_csv(opt.out_dir + "/llm_int8.csv", {"method(0=per-tensor,1=vector-wise,2=decomposed)", "rel_frobenius", "rmse"},
                      {{0, e_tensor.rel_frobenius, e_tensor.rmse}, {1, e_vector.rel_frobenius, e_vector.rmse}, {2, e_split.rel_frobenius, e_split.rmse}});
    summary["llm_int8_planted_columns"] = planted.size();
    summary["llm_int8_outlier_columns"] = found.size();
    summary["rel_error_per_tensor"] = e_tensor.rel_frobenius;
    summary["rel_error_vectorwise"] = e_vector.rel_frobenius;
    summary["rel_error_decomposed"] = e_split.rel_frobenius;

    lesson::section("6. Memory, measured by the allocator");
    std::vector<std::vector<double>> mem_rows;
    auto in_use = [&] { return memory_stats(dev).current; };
    const size_t start = in_use();
    auto linear = std::make_shared<nn::Linear>(K, N, gen);
    linear->to(dev);
    const size_t f32_bytes = in_use() - start;
    Linear8bit q8(*linear, threshold);
    const size_t int8_bytes = in_use() - start - f32_bytes;
    fmt::print("  {:<42} {:>12}\n", fmt::format("nn::Linear({} -> {}): f32 weight + bias", K, N), format_bytes(f32_bytes));
    fmt::print("  {:<42} {:>12}   ({:.1f}% of f32)\n", "Linear8bit: int8 weight + SCB + bias", format_bytes(int8_bytes),
               100.0 * double(int8_bytes) / double(f32_bytes));
    mem_rows.push_back({0, double(f32_bytes)});
    mem_rows.push_back({1, double(int8_bytes)});
    double layer_error;
    {
      ag::NoGradGuard no_grad;
      const Tensor xin = randn({tokens, K}, gen).to(dev);
      layer_error = quant_error(linear->forward(xin), q8.forward(xin)).rel_frobenius;
    }
    linear.reset();
    const size_t after_free = in_use() - start;
    fmt::print("  {:<42} {:>12}\n", "after the f32 layer is freed", format_bytes(after_free));
    fmt::print("  Linear8bit against nn::Linear on N(0,1) inputs: relative Frobenius error {:.5f}\n", layer_error);
    mem_rows.push_back({2, double(after_free)});
    train::write_csv(opt.out_dir + "/memory.csv", {"what(0=f32 layer,1=int8 layer,2=int8 only)", "bytes"}, mem_rows);
    summary["bytes_f32"] = f32_bytes;
    summary["bytes_int8"] = int8_bytes;
    summary["memory_ratio"] = double(int8_bytes) / double(f32_bytes);
    summary["linear8bit_rel_error"] = layer_error;
    summary["size"] = size;

    lesson::write_summary(opt, summary);
    fmt::print("\nfigures written to {0}/: skewed.csv, block_size.csv/.svg, outlier.csv/.svg, llm_int8.csv, memory.csv, summary.json\n",
               opt.out_dir);
  });
}
