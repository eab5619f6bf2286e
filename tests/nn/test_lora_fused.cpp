// The fused LoRA forward (quant/lora_fused.h) against an f64 product and against LoRALinear itself:
// y = x W^T + s (x A^T) B^T, unfused and fused, with an f32 base and an NF4 (QLoRA) base, on odd
// sizes (1, 17, 129, 1000), ranks 1 and 8, every micro-kernel this CPU runs.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "nn/linear.h"
#include "nn/lora.h"
#include "quant/linear4bit.h"
#include "quant/lora_fused.h"
#include "quant/nf4.h"
#include "tensor/all.h"

#include <cmath>
#include <memory>
#include <vector>

using namespace lab;
using namespace lab::quant;

namespace {

std::vector<float> normals(int64_t n, Generator& g, float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = scale * g.normal();
  return v;
}

// worst |got - want| / (1e-5 sum |terms|) over the outputs: <= 1 is f32 rounding of the sums
double worst_error(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& scale) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); i++) worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / (1e-5 * scale[i] + 1e-30));
  return worst;
}

}  // namespace

TEST_CASE("fused and unfused LoRA forwards match an f64 product, f32 and NF4 bases") {
  for (int64_t K : {int64_t(1), int64_t(17), int64_t(129), int64_t(1000)}) {
    for (int64_t N : {int64_t(17), int64_t(129)}) {
      for (int64_t r : {int64_t(1), int64_t(8)}) {
        Generator g(uint64_t(K * 1000 + N * 10 + r));
        const std::vector<float> W = normals(N * K, g, 0.5f), A = normals(r * K, g, 0.3f), B = normals(N * r, g, 0.3f);
        const float s = 16.0f / float(r);
        // The NF4 base and its dequantized f32 values (the reference for the QLoRA forwards).
        std::vector<uint8_t> packed(size_t((N * K + 1) / 2));
        std::vector<float> absmax(size_t(num_blocks(N * K, 64))), Wq(size_t(N * K));
        quantize_nf4_ref(W.data(), N * K, 64, packed.data(), absmax.data());
        dequantize_nf4_ref(packed.data(), absmax.data(), N * K, 64, Wq.data());
        const Nf4MatrixRef wref{packed.data(), absmax.data(), 64, N, K};
        for (int64_t M : {int64_t(1), int64_t(17), int64_t(129)}) {
          const std::vector<float> x = normals(M * K, g);
          for (bool nf4 : {false, true}) {
            const std::vector<float>& base = nf4 ? Wq : W;
            std::vector<double> want(size_t(M * N)), scale(size_t(M * N)), t(static_cast<size_t>(r)), t_mag(static_cast<size_t>(r));
            for (int64_t m = 0; m < M; m++) {
              for (int64_t q = 0; q < r; q++) {  // (x A^T)[m, q] and the sum of its terms' magnitudes
                double acc = 0, mag = 0;
                for (int64_t k = 0; k < K; k++) {
                  const double p = double(x[size_t(m * K + k)]) * double(A[size_t(q * K + k)]);
                  acc += p, mag += std::fabs(p);
                }
                t[size_t(q)] = acc, t_mag[size_t(q)] = mag;
              }
              for (int64_t j = 0; j < N; j++) {
                double acc = 0, mag = 0;
                for (int64_t k = 0; k < K; k++) {
                  const double p = double(x[size_t(m * K + k)]) * double(base[size_t(j * K + k)]);
                  acc += p, mag += std::fabs(p);
                }
                for (int64_t q = 0; q < r; q++) {
                  acc += s * t[size_t(q)] * double(B[size_t(j * r + q)]);
                  mag += s * t_mag[size_t(q)] * std::fabs(double(B[size_t(j * r + q)]));
                }
                want[size_t(m * N + j)] = acc, scale[size_t(m * N + j)] = mag;
              }
            }
            const LoraRef lora{A.data(), B.data(), r, s};
            for (const LoraForwardVersion& v : lora_forward_versions()) {
              std::vector<float> y(size_t(M * N), -99.0f);
              if (nf4)
                v.nf4_base(x.data(), M, wref, lora, y.data());
              else
                v.f32_base(x.data(), M, W.data(), N, K, lora, y.data());
              INFO(v.name << (nf4 ? " (NF4 base)" : " (f32 base)") << " M " << M << " N " << N << " K " << K << " r " << r);
              CHECK(worst_error(y, want, scale) <= 1.0);
            }
            for (Isa isa : supported_isas()) {
              std::vector<float> y(size_t(M * N), -99.0f);
              if (nf4)
                qlora_forward_fused(x.data(), M, wref, lora, y.data(), isa);
              else
                lora_forward_fused(x.data(), M, W.data(), N, K, lora, y.data(), isa);
              INFO("fused/" << isa_name(isa) << (nf4 ? " (NF4 base)" : " (f32 base)") << " M " << M << " N " << N << " K " << K << " r " << r);
              CHECK(worst_error(y, want, scale) <= 1.0);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("the fused forward gives what LoRALinear gives, on a Linear and on a Linear4bit base") {
  Generator g(11);
  const int64_t in = 96, out = 40, rows = 33;
  nn::LoraConfig config;
  config.r = 4;
  config.lora_alpha = 8;
  for (bool nf4 : {false, true}) {
    auto linear = std::make_shared<nn::Linear>(in, out, g, /*bias=*/false);
    std::shared_ptr<nn::UnaryModule> base = linear;
    std::shared_ptr<quant::Linear4bit> base4;
    if (nf4) base = base4 = std::make_shared<quant::Linear4bit>(*linear, 64, /*double_quant=*/true);
    nn::LoRALinear layer(base, in, out, config, g);
    layer.eval();
    {
      ag::NoGradGuard no_grad;
      ag::detach(layer.lora_B("default")).copy_(randn({out, config.r}, g));  // B = 0 would hide the LoRA branch
    }
    const Tensor x = randn({rows, in}, g);
    ag::NoGradGuard no_grad;
    const std::vector<float> want = layer.forward(x).to_vector<float>();
    const Tensor A = ag::detach(layer.lora_A("default")).contiguous(), B = ag::detach(layer.lora_B("default")).contiguous();
    const LoraRef lora{A.data<float>(), B.data<float>(), config.r, float(layer.scaling())};
    std::vector<float> got(size_t(rows * out));
    if (nf4) {
      const Tensor absmax = nf4_absmax(base4->weight()).contiguous();
      qlora_forward_fused(x.data<float>(), rows, {base4->weight().packed.data<uint8_t>(), absmax.data<float>(), 64, out, in}, lora, got.data());
    } else {
      const Tensor W = ag::detach(linear->weight()).contiguous();
      lora_forward_fused(x.data<float>(), rows, W.data<float>(), out, in, lora, got.data());
    }
    double diff = 0;
    for (size_t i = 0; i < got.size(); i++) diff = std::max(diff, double(std::fabs(got[i] - want[i])));
    INFO((nf4 ? "Linear4bit" : "Linear") << " base: max |fused - LoRALinear| = " << diff);
    CHECK(diff < 1e-4);
  }
}

TEST_CASE("a LoRA rank below 1 is an error that names the kernel") {
  const float v = 0;
  float y = 0;
  CHECK_THROWS_WITH(lora_forward_fused(&v, 1, &v, 1, 1, LoraRef{&v, &v, 0, 1.0f}, &y), Catch::Contains("lora_forward_fused"));
}
