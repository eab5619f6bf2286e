// Lesson 03: NF4, QLoRA's 4-bit NormalFloat. The 16 levels derived from normal quantiles and checked
// against bitsandbytes' table to the bit; a weight quantized block by block; the error of int8,
// FP4 and NF4 at the same block size on normal data, and why NF4 wins there; double quantization's
// bits per parameter; the bytes of f32, bf16, int8 and NF4 copies of one layer, from the allocator;
// a histogram of the weights with the 16 levels on it. README.md beside this file has the math.
#include "lessons/common/lesson.h"
#include "quant/fp4.h"
#include "quant/int8.h"
#include "quant/linear4bit.h"
#include "quant/nf4.h"
#include "tensor/all.h"
#include "train/plot.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

using namespace lab;
using namespace lab::quant;

namespace {

// mean |x - y| (bitsandbytes' figure of merit for 4-bit formats)
double mean_abs_error(const Tensor& x, const Tensor& y) { return mean(abs(sub(x.to(Device::cpu()), y.to(Device::cpu())))).item<double>(); }

// Entropy in bits of how often each of the 16 codes is used: 4 when all are used equally.
double code_entropy(const std::vector<uint8_t>& packed) {
  double count[16] = {};
  for (uint8_t b : packed) count[b >> 4] += 1, count[b & 15] += 1;
  double h = 0;
  for (double c : count)
    if (c > 0) h -= c / (2.0 * double(packed.size())) * std::log2(c / (2.0 * double(packed.size())));
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lesson 03: NF4: the code book from normal quantiles, blockwise 4-bit quantization, double quantization"};
  lesson::Options opt;
  lesson::add_standard_flags(app, opt, "03_nf4");
  int64_t size = 2048;
  app.add_option("--size", size, "rows and columns of the weights, a multiple of 64 (--quick: 256)")->check(CLI::Range(64, 16384))->capture_default_str();
  int64_t block = 64;
  app.add_option("--blocksize", block, "NF4/FP4/int8 block size: 32, 64, ..., 4096")->capture_default_str();

  return lesson::run(app, argc, argv, opt, [&] {
    if (opt.quick) size = std::min<int64_t>(size, 256);
    LAB_CHECK(size % 64 == 0, "--size must be a multiple of 64, got {}", size);
    check_blocksize(block, "--blocksize");
    LAB_CHECK(size % block == 0, "--blocksize must divide --size ({}) so int8 blocks stay inside rows, got {}", size, block);
    Generator gen(opt.seed);
    const Device dev = opt.device;
    nlohmann::json summary = {{"size", size}, {"blocksize", block}};

    lesson::section("1. The NF4 code book, derived from normal quantiles");
    // level = Phi^{-1}(p) / Phi^{-1}(0.9677083): 8 positive p from 0.9677083 down towards 1/2, 7 negative, and 0
    const std::array<float, 16> derived = derive_nf4_table(0.9677083);
    fmt::print("  {:>4} {:>12} {:>22} {:>22} {:>6}\n", "code", "p", "derived", "bitsandbytes", "bits");
    bool all_equal = true;
    for (int c = 0; c < 16; c++) {
      const float p = c > 7 ? linspace_f32(0.9677083f, 0.5f, 9, 15 - c) : c < 7 ? 1 - linspace_f32(0.9677083f, 0.5f, 8, c) : 0.5f;
      const bool equal = std::memcmp(&derived[size_t(c)], &kNF4Published[size_t(c)], 4) == 0;
      all_equal &= equal;
      fmt::print("  {:>4} {:>12.7f} {:>22.17g} {:>22.17g} {:>6}\n", c, p, derived[size_t(c)], kNF4Published[size_t(c)], equal ? "same" : "DIFFER");
    }
    fmt::print("all 16 levels equal bitsandbytes' literals to the last bit: {}\n", all_equal ? "yes" : "NO");
    summary["table_bit_equal"] = all_equal;

    lesson::section("2. Quantizing a weight, block by block");
    const Tensor w = mul(randn({size, size}, gen), 0.02).to(dev);  // a layer initialised as GPT-2's: N(0, 0.02^2)
    const NF4Tensor q = quantize_nf4(w, block);
    const std::vector<float> w0 = w.to_vector<float>(), back = dequantize_nf4(q).to_vector<float>();
    const float absmax0 = q.absmax.to_vector<float>()[0];
    const std::vector<uint8_t> packed = q.packed.to_vector<uint8_t>();
    fmt::print("W [{0}, {0}] in {1} blocks of {2}; block 0 has absmax {3:.5f}. Its first values:\n", size, q.blocks(), block, absmax0);
    fmt::print("  {:>10} {:>12} {:>5} {:>12} {:>12}\n", "x", "x / absmax", "code", "NF4[code]", "x'");
    for (size_t i = 0; i < 6; i++) {
      const uint8_t code = i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 15;
      fmt::print("  {:>10.5f} {:>12.5f} {:>5} {:>12.5f} {:>12.5f}\n", w0[i], w0[i] / absmax0, code, nf4_table()[code], back[i]);
    }
    fmt::print("byte 0 = 0x{:02x}: element 0 in the high nibble, element 1 in the low one\n", packed[0]);

    lesson::section("3. int8, FP4 and NF4 at the same block size on N(0, 1)");
    const Tensor x = randn({size, size}, gen);
    const int64_t n = x.numel();
    const Tensor x_nf4 = dequantize_nf4(quantize_nf4(x.to(dev), block));
    std::vector<uint8_t> fp4_codes(size_t(n / 2));
    std::vector<float> fp4_absmax(size_t(n / block));
    Tensor x_fp4 = Tensor::empty(x.shape());
    quantize_fp4_ref(x.data<float>(), n, block, fp4_codes.data(), fp4_absmax.data());
    dequantize_fp4_ref(fp4_codes.data(), fp4_absmax.data(), n, block, x_fp4.data<float>());
    const Tensor x_int8 = dequantize(quantize_int8(x.to(dev), Int8Scheme::absmax, Granularity::per_block, block));
    const double nf4_entropy = code_entropy(quantize_nf4(x, block).packed.to_vector<uint8_t>()), fp4_entropy = code_entropy(fp4_codes);
    fmt::print("  {:<26} {:>6} {:>10} {:>10} {:>14} {:>14}\n", "format", "bits", "RMSE", "mean |err|", "rel. Frobenius", "code entropy");
    std::vector<std::vector<double>> error_rows;
    struct Row { const char* name; Tensor y; double bits, entropy; };
    for (const Row& r : {Row{"int8 (per-block absmax)", x_int8, 8 + 32.0 / double(block), 8},
                         Row{"FP4 (bitsandbytes E2M1)", x_fp4, 4 + 32.0 / double(block), fp4_entropy},
                         Row{"NF4", x_nf4, 4 + 32.0 / double(block), nf4_entropy}}) {
      const QuantError e = quant_error(x, r.y.to(Device::cpu()));
      const double mae = mean_abs_error(x, r.y);
      fmt::print("  {:<26} {:>6.3f} {:>10.5f} {:>10.5f} {:>14.5f} {:>14.3f}\n", r.name, r.bits, e.rmse, mae, e.rel_frobenius, r.entropy);
      error_rows.push_back({r.bits, e.rmse, mae, e.rel_frobenius});
    }
    fmt::print("(code entropy: bits of information the 4-bit codes carry; 4.000 means every code is used equally often;\n"
               " int8's column is its 8-bit width, not measured)\n");
    fmt::print("NF4's levels sit at equal-probability points of the bell, so its codes are used almost equally often;\n"
               "FP4 spends two codes on +-1/192, so near 0 they are almost wasted, and leaves a gap from there to 1/6\n"
               "where normal weights are densest. NF4's RMSE is {:.0f}% below FP4's for the same 4.5 bits.\n",
               100 * (1 - error_rows[2][1] / error_rows[1][1]));
    train::write_csv(opt.out_dir + "/errors.csv", {"bits_per_weight", "rmse", "mean_abs_error", "rel_frobenius"}, error_rows);
    summary["rmse_int8"] = error_rows[0][1], summary["rmse_fp4"] = error_rows[1][1], summary["rmse_nf4"] = error_rows[2][1];
    summary["mean_abs_nf4"] = error_rows[2][2], summary["mean_abs_fp4"] = error_rows[1][2];
    summary["code_entropy_nf4"] = nf4_entropy, summary["code_entropy_fp4"] = fp4_entropy;

    lesson::section("4. Double quantization: the absmaxes quantized too");
    // bits per weight: 4 + 32/B plain; 4 + 8/B + 32/(256 B) with the absmaxes in 8 bits and one f32 per 256 of them
    for (bool dq : {false, true}) {
      const size_t before = memory_stats(dev).current;
      const NF4Tensor qq = quantize_nf4(w, block, dq);
      const double measured = 8.0 * double(memory_stats(dev).current - before) / double(w.numel());
      const double computed = dq ? 4 + 8.0 / double(block) + 32.0 / (256.0 * double(block)) : 4 + 32.0 / double(block);
      const double rmse = quant_error(w, dequantize_nf4(qq)).rmse;
      fmt::print("  {:<24} computed {:.4f} bits/weight, measured by the allocator {:.4f}; RMSE {:.3e}\n",
                 dq ? "double quantized" : "plain (f32 absmax)", computed, measured, rmse);
      summary[dq ? "bits_dq" : "bits_plain"] = computed, summary[dq ? "measured_bits_dq" : "measured_bits_plain"] = measured;
      summary[dq ? "rmse_w_dq" : "rmse_w_plain"] = rmse;
    }
    fmt::print("double quantization saves {:.4f} bits/weight ({:.1f}% of the statistics) and changes the RMSE by {:+.3f}%\n",
               summary["bits_plain"].get<double>() - summary["bits_dq"].get<double>(),
               100 * (1 - (summary["bits_dq"].get<double>() - 4) / (summary["bits_plain"].get<double>() - 4)),
               100 * (summary["rmse_w_dq"].get<double>() / summary["rmse_w_plain"].get<double>() - 1));

    lesson::section("5. One layer, four copies, bytes from the allocator");
    std::vector<std::vector<double>> memory_rows;
    // The bytes the allocator holds for what make() returns, read while it is still alive.
    auto held = [&](auto make) {
      const size_t before = memory_stats(dev).current;
      const auto copy = make();
      return memory_stats(dev).current - before;
    };
    auto report = [&](const std::string& name, size_t bytes) {
      fmt::print("  {:<8} {:>12}  {:>6.3f} bits/weight  {:>6.2f}% of f32\n", name, format_bytes(bytes), 8.0 * double(bytes) / double(w.numel()),
                 100.0 * double(bytes) / (4.0 * double(w.numel())));
      memory_rows.push_back({double(memory_rows.size()), double(bytes)});
      summary["bytes_" + name] = bytes;
    };
    report("f32", held([&] { return w.clone(); }));
    report("bf16", held([&] { return w.to(DType::bf16); }));
    report("int8", held([&] { return quantize_int8(w, Int8Scheme::absmax, Granularity::per_block, block); }));
    report("nf4", held([&] { return quantize_nf4(w, block); }));
    report("nf4_dq", held([&] { return quantize_nf4(w, block, true); }));
    fmt::print("(int8: codes + an f32 scale per block of {0}; nf4: 4-bit codes + an f32 absmax per block; nf4_dq: + 8-bit absmaxes)\n", block);
    train::write_csv(opt.out_dir + "/memory.csv", {"copy(0=f32,1=bf16,2=int8,3=nf4,4=nf4_dq)", "bytes"}, memory_rows);

    lesson::section("6. The weights and the 16 levels");
    // x / absmax of every value of W, which is what the codes are chosen from
    std::vector<double> scaled(w0.size());
    const std::vector<float> am = q.absmax.to_vector<float>();
    for (size_t i = 0; i < w0.size(); i++) scaled[i] = w0[i] / am[i / size_t(block)];
    const std::vector<double> nf4_levels(nf4_table().begin(), nf4_table().end()), fp4_levels(fp4_table().begin(), fp4_table().end());
    train::write_svg_histogram(opt.out_dir + "/histogram_nf4.svg", scaled, 200, -1, 1, nf4_levels,
                                {"W / absmax of its block, with the 16 NF4 levels", "x / absmax", "count", false});
    train::write_svg_histogram(opt.out_dir + "/histogram_fp4.svg", scaled, 200, -1, 1, fp4_levels,
                                {"W / absmax of its block, with the 15 FP4 levels", "x / absmax", "count", false});
    fmt::print("histogram_nf4.svg: NF4's levels are densest where the weights are; histogram_fp4.svg: FP4's gap around 0\n");

    lesson::write_summary(opt, summary);
    fmt::print("\nfigures written to {0}/errors.csv, {0}/memory.csv, {0}/histogram_nf4.svg, {0}/histogram_fp4.svg, {0}/summary.json\n", opt.out_dir);
  });
}
