// The fused optimizer kernels (cuda/adamw.cu, cuda/sgd.cu) against their CPU references in optim/:
// the same parameters and gradients on both devices, ten steps, then parameters and state compared.
// The kernels round each operation as the CPU does, so they should agree to the last bit; the test
// allows 1e-6 relative (to the largest element, so values near zero do not make it fragile).
// Run only where a GPU is present: cuda_test_main.cpp skips them elsewhere.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "cuda/runtime.h"
#include "optim/adamw.h"
#include "optim/sgd.h"
#include "tensor/all.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);

// |got - want| <= rtol * max(|want_i|, max_j |want_j| * 1e-3) for every element.
void require_close(const Tensor& got_any, const Tensor& want_any, double rtol, const std::string& what) {
  const Tensor got = got_any.to(Device::cpu()), want = want_any.to(Device::cpu());
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == want.dtype());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double scale = 0, worst = 0;
  for (double x : w) scale = std::max(scale, std::abs(x));
  for (size_t i = 0; i < w.size(); i++) {
    const double allowed = rtol * std::max(std::abs(w[i]), 1e-3 * scale);
    worst = std::max(worst, std::abs(g[i] - w[i]));
    if (!(std::abs(g[i] - w[i]) <= allowed))
      FAIL(what << " element " << i << " of " << w.size() << ": gpu " << g[i] << ", cpu " << w[i] << ", allowed error " << allowed);
  }
  INFO(what << ": max |gpu - cpu| = " << worst);
  SUCCEED();
}

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(const std::vector<Tensor>&)>;

// Random parameters (odd sizes, so the last block is partial; one f64), the same on both devices;
// ten steps with the same random gradients; then every parameter and state tensor compared.
void compare_devices(const MakeOptimizer& make) {
  Generator init(3);
  const std::vector<Tensor> start = {randn({4099}, init), randn({37, 19}, init), randn({129}, init, DType::f64)};
  std::vector<Tensor> on_cpu, on_gpu;
  for (const Tensor& p : start) {
    on_cpu.push_back(p.clone());
    on_gpu.push_back(p.to(gpu));
    ag::set_requires_grad(on_cpu.back());
    ag::set_requires_grad(on_gpu.back());
  }
  std::unique_ptr<Optimizer> cpu_opt = make(on_cpu), gpu_opt = make(on_gpu);
  for (int step = 0; step < 10; step++) {
    Generator gen(uint64_t(100 + step));
    for (size_t i = 0; i < start.size(); i++) {
      const Tensor g = randn(start[i].shape(), gen, start[i].dtype());
      ag::set_grad(on_cpu[i], g);
      ag::set_grad(on_gpu[i], g.to(gpu));
    }
    cpu_opt->step();
    gpu_opt->step();
  }
  for (size_t i = 0; i < start.size(); i++) {
    REQUIRE(on_gpu[i].device() == gpu);
    require_close(on_gpu[i], on_cpu[i], 1e-6, fmt::format("parameter {}", i));
    for (const auto& [name, want] : cpu_opt->state(i)) {
      const Tensor& got = gpu_opt->state(i).at(name);
      if (name == "step") {
        CHECK(got.item<int64_t>() == want.item<int64_t>());
      } else {
        CHECK(got.device() == gpu);
        require_close(got, want, 1e-6, fmt::format("state.{}.{}", i, name));
      }
    }
  }
}

}  // namespace

TEST_CASE("the fused AdamW step on the GPU matches the CPU reference over 10 steps") {
  compare_devices([](const std::vector<Tensor>& ps) { return std::make_unique<AdamW>(ps, AdamWOptions{.lr = 1e-2, .weight_decay = 0.1}); });
  // beta1 < 0.5 takes the other branch of torch's lerp.
  compare_devices([](const std::vector<Tensor>& ps) {
    return std::make_unique<AdamW>(ps, AdamWOptions{.lr = 1e-2, .beta1 = 0.3, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0});
  });
}

TEST_CASE("the fused SGD step on the GPU matches the CPU reference over 10 steps") {
  SECTION("plain") {
    compare_devices([](const std::vector<Tensor>& ps) { return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.1}); });
  }
  SECTION("momentum, dampening, weight decay") {
    compare_devices([](const std::vector<Tensor>& ps) {
      return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
    });
  }
  SECTION("Nesterov") {
    compare_devices([](const std::vector<Tensor>& ps) {
      return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    });
  }
}

TEST_CASE("the AdamW kernel called directly equals adamw_step_ref on a million elements") {
  const int64_t n = (1 << 20) + 7;
  Generator gen(11);
  const Tensor p = randn({n}, gen), g = randn({n}, gen), m = mul(randn({n}, gen), 0.1), v = mul(rand({n}, gen), 0.01);
  const cuda::AdamWCoefficients c = adamw_coefficients(AdamWOptions{.lr = 3e-4}, 7);
  const Tensor p_gpu = p.to(gpu), g_gpu = g.to(gpu), m_gpu = m.to(gpu), v_gpu = v.to(gpu);
  cuda::set_device(0);
  cuda::adamw_step_f32(p_gpu.data<float>(), g_gpu.data<float>(), m_gpu.data<float>(), v_gpu.data<float>(), n, c);
  cuda::synchronize();
  adamw_step_ref(p.data<float>(), g.data<float>(), m.data<float>(), v.data<float>(), n, c);
  require_close(p_gpu, p, 1e-6, "p");
  require_close(m_gpu, m, 1e-6, "exp_avg");
  require_close(v_gpu, v, 1e-6, "exp_avg_sq");
}

TEST_CASE("AdamW's state is allocated on the GPU, through the allocator") {
  Generator gen(5);
  Tensor p = randn({1 << 16}, gen, DType::f32, gpu);
  ag::set_requires_grad(p);
  ag::set_grad(p, randn({1 << 16}, gen, DType::f32, gpu));
  AdamW opt({p});
  const size_t before = memory_stats(gpu).current;
  opt.step();
  CHECK(memory_stats(gpu).current - before >= 2 * (size_t(1) << 16) * sizeof(float));
  CHECK(opt.state(0).at("exp_avg").device() == gpu);
}
