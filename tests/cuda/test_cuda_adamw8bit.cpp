// The fused 8-bit AdamW kernel (cuda/adamw8bit.cu) against its CPU reference (optim/adamw8bit.cpp):
// the optimizer on both devices for ten steps (8-bit, f32-state and short-block parameters), and the
// kernel called directly on a million elements with odd block sizes. Every operation is rounded
// as on the CPU and the block max is exact, so parameters, codes and absmax must agree to the bit.
// Run only where a GPU is present: cuda_test_main.cpp skips them elsewhere.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "cuda/runtime.h"
#include "optim/adamw8bit.h"
#include "tensor/all.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);

// Equal to the bit, or the first differing element named.
void require_same(const Tensor& got_any, const Tensor& want_any, const std::string& what) {
  const Tensor got = got_any.to(Device::cpu()), want = want_any.to(Device::cpu());
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == want.dtype());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  int64_t differing = 0, first = -1;
  for (size_t i = 0; i < w.size(); i++)
    if (g[i] != w[i] && !(std::isnan(g[i]) && std::isnan(w[i]))) differing++, first = first < 0 ? int64_t(i) : first;
  if (differing > 0)
    FAIL(what << ": " << differing << " of " << w.size() << " elements differ; first at " << first << ": gpu " << g[size_t(first)]
              << ", cpu " << w[size_t(first)]);
  SUCCEED();
}

cuda::DynamicMaps8bit maps() {
  cuda::DynamicMaps8bit out{};
  std::memcpy(out.m, adam8bit_map_m().data(), sizeof(out.m));
  std::memcpy(out.v, adam8bit_map_v().data(), sizeof(out.v));
  return out;
}

// One 8-bit state on both devices: the kernel steps the GPU copy, adamw8bit_step_ref the CPU tensors in place.
struct State8bit {
  Tensor p, g, c1, c2, a1, a2;
};

State8bit step_on_both(const State8bit& cpu, int64_t block_size, const cuda::AdamWCoefficients& c) {
  State8bit on_gpu{cpu.p.to(gpu), cpu.g.to(gpu), cpu.c1.to(gpu), cpu.c2.to(gpu), cpu.a1.to(gpu), cpu.a2.to(gpu)};
  const int64_t n = cpu.p.numel();
  cuda::set_device(0);
  cuda::adamw8bit_step_f32(on_gpu.p.data<float>(), on_gpu.g.data<float>(), on_gpu.c1.data<uint8_t>(), on_gpu.c2.data<uint8_t>(),
                           on_gpu.a1.data<float>(), on_gpu.a2.data<float>(), n, block_size, c, maps());
  cuda::synchronize();
  adamw8bit_step_ref(cpu.p.data<float>(), cpu.g.data<float>(), cpu.c1.data<uint8_t>(), cpu.c2.data<uint8_t>(), cpu.a1.data<float>(),
                     cpu.a2.data<float>(), n, block_size, c);
  return on_gpu;
}

}  // namespace

TEST_CASE("AdamW8bit on the GPU equals the CPU reference over 10 steps, state and all") {
  // beta1 < 0.5 takes the other branch of torch's lerp
  const std::vector<AdamWOptions> options = {{.lr = 1e-2, .weight_decay = 0.1},
                                             {.lr = 1e-2, .beta1 = 0.3, .beta2 = 0.9, .weight_decay = 0}};
  for (const AdamWOptions& o : options) {
    INFO("beta1 " << o.beta1);
    Generator init(3);
    // 8-bit with a short last block; f32 state; 8-bit, many blocks
    const std::vector<Tensor> start = {randn({4099}, init), randn({37, 19}, init), randn({130, 70}, init)};
    std::vector<Tensor> on_cpu, on_gpu;
    for (const Tensor& p : start) {
      on_cpu.push_back(p.clone());
      on_gpu.push_back(p.to(gpu));
      ag::set_requires_grad(on_cpu.back());
      ag::set_requires_grad(on_gpu.back());
    }
    AdamW8bit cpu_opt(on_cpu, o), gpu_opt(on_gpu, o);
    for (int step = 0; step < 10; step++) {
      Generator gen(uint64_t(100 + step));
      for (size_t i = 0; i < start.size(); i++) {
        const Tensor g = mul(randn(start[i].shape(), gen), step % 3 == 0 ? 5.0 : 0.5);
        ag::set_grad(on_cpu[i], g);
        ag::set_grad(on_gpu[i], g.to(gpu));
      }
      cpu_opt.step();
      gpu_opt.step();
    }
    for (size_t i = 0; i < start.size(); i++) {
      REQUIRE(on_gpu[i].device() == gpu);
      require_same(on_gpu[i], on_cpu[i], fmt::format("parameter {}", i));
      for (const auto& [name, want] : cpu_opt.state(i)) {
        const Tensor& got = gpu_opt.state(i).at(name);
        if (name != "step") CHECK(got.device() == gpu);
        require_same(got, want, fmt::format("state.{}.{}", i, name));
      }
    }
  }
}

TEST_CASE("the 8-bit AdamW kernel called directly equals adamw8bit_step_ref, any block size") {
  const int64_t n = (1 << 20) + 7;
  for (int64_t block_size : {int64_t(256), int64_t(100), int64_t(1024)}) {
    INFO("block size " << block_size);
    const int64_t blocks = (n + block_size - 1) / block_size;
    Generator gen(uint64_t(11 + block_size));
    const Tensor p = randn({n}, gen), g = randn({n}, gen);
    // a state from one CPU step on random moments' codes
    Tensor c1 = Tensor::empty({n}, DType::u8), c2 = Tensor::empty({n}, DType::u8);
    const std::vector<float> r = rand({2 * n}, gen).to_vector<float>();
    for (int64_t i = 0; i < n; i++) {
      c1.data<uint8_t>()[i] = uint8_t(r[size_t(i)] * 255.99f);
      c2.data<uint8_t>()[i] = uint8_t(r[size_t(n + i)] * 255.99f);
    }
    const Tensor a1 = mul(rand({blocks}, gen), 0.1), a2 = mul(rand({blocks}, gen), 0.01);
    const State8bit cpu{p, g, c1, c2, a1, a2};
    const State8bit got = step_on_both(cpu, block_size, adamw_coefficients(AdamWOptions{.lr = 3e-4}, 7));
    require_same(got.p, p, "p");
    require_same(got.c1, c1, "state1");
    require_same(got.c2, c2, "state2");
    require_same(got.a1, a1, "absmax1");
    require_same(got.a2, a2, "absmax2");
  }
}

TEST_CASE("AdamW8bit's state is u8 codes and f32 absmax on the GPU, through the allocator") {
  Generator gen(5);
  Tensor p = randn({1 << 16}, gen, DType::f32, gpu);
  ag::set_requires_grad(p);
  ag::set_grad(p, randn({1 << 16}, gen, DType::f32, gpu));
  AdamW8bit opt({p});
  const size_t before = memory_stats(gpu).current;
  opt.step();
  const size_t bytes = 2 * (size_t(1) << 16) + 2 * 4 * ((size_t(1) << 16) / 256);
  CHECK(memory_stats(gpu).current - before >= bytes);
  CHECK(opt.state_bytes() == bytes + 8);
  CHECK(opt.state(0).at("state1").device() == gpu);
  CHECK(opt.state(0).at("state1").dtype() == DType::u8);
}

// A NaN gradient loses its own parameter on the CPU (std::max leaves the NaN out of the block's absmax).
// The GPU's block max once dropped the lanes beside a NaN, and the whole block's state with them.
TEST_CASE("a NaN gradient in 8-bit AdamW loses only its own element on the GPU, as on the CPU") {
  const int64_t n = 1000, block_size = 256, blocks = (n + block_size - 1) / block_size;
  Generator gen(21);
  const Tensor p = randn({n}, gen);
  Tensor g = mul(randn({n}, gen), 0.01);
  const std::vector<int64_t> nan_at = {0, 1, 257, 600};  // first lane, its butterfly partner, an odd lane, another block
  for (int64_t i : nan_at) g.data<float>()[i] = std::nanf("");
  Tensor c1 = zeros({n}, DType::u8), c2 = zeros({n}, DType::u8);
  Tensor a1 = zeros({blocks}), a2 = zeros({blocks});  // a fresh state: m = v = 0
  const State8bit got = step_on_both({p, g, c1, c2, a1, a2}, block_size, adamw_coefficients(AdamWOptions{.lr = 1e-3}, 1));
  require_same(got.a1, a1, "absmax1");
  require_same(got.a2, a2, "absmax2");
  require_same(got.p, p, "p");
  const std::vector<float> p_after = got.p.to(Device::cpu()).to_vector<float>();
  for (int64_t i = 0; i < n; i++) {
    const bool nan_grad = std::find(nan_at.begin(), nan_at.end(), i) != nan_at.end();
    INFO("element " << i);
    CHECK(std::isnan(p_after[size_t(i)]) == nan_grad);
  }
  // A NaN's code may differ: the GPU's NaN is positive, x86's negative, and the sign picks the code.
  Tensor c1_got = got.c1.to(Device::cpu()), c2_got = got.c2.to(Device::cpu());
  for (int64_t i : nan_at) c1_got.data<uint8_t>()[i] = c1.data<uint8_t>()[i], c2_got.data<uint8_t>()[i] = c2.data<uint8_t>()[i];
  require_same(c1_got, c1, "state1 (NaN elements left out)");
  require_same(c2_got, c2, "state2 (NaN elements left out)");
}
