// The paged optimizers on the GPU (optim/paged_adamw.h over cuda/paged.h): state in cudaMallocManaged
// pages, prefetched to the GPU for each chunk's update and back to the host under the cuda:0 budget.
// PagedAdamW equals AdamW on the GPU bit for bit (the same kernel, chunk by chunk) and the CPU
// reference to 1e-6, with the page counts the budget implies; PagedAdamW8bit equals AdamW8bit on the
// GPU; managed memory is never asked for beyond what the card has free.
// Run only where a GPU is present: cuda_test_main.cpp skips them elsewhere.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "cuda/cuda_error.h"
#include "cuda/paged.h"
#include "optim/adamw.h"
#include "optim/adamw8bit.h"
#include "optim/paged_adamw.h"
#include "tensor/all.h"

#include <cmath>
#include <cstring>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);

struct GpuBudget {
  explicit GpuBudget(size_t bytes) { set_memory_budget(gpu, bytes); }
  ~GpuBudget() { set_memory_budget(gpu, 0); }
};

// Parameters on `device` with their grads allocated once (each step writes new values into them).
std::vector<Tensor> make_params(const std::vector<Shape>& shapes, Device device) {
  Generator gen(17);
  std::vector<Tensor> ps;
  for (const Shape& s : shapes) {
    Tensor p = randn(s, gen).to(device);
    ag::set_requires_grad(p);
    ag::set_grad(p, zeros(s, DType::f32, device));
    ps.push_back(p);
  }
  return ps;
}

void write_grads(const std::vector<Tensor>& ps, int step) {
  for (size_t i = 0; i < ps.size(); i++) {
    std::vector<float> g(size_t(ps[i].numel()));
    for (size_t j = 0; j < g.size(); j++) g[j] = float(std::sin(0.37 * double(j) + 1.3 * step + double(i)));
    ag::grad(ps[i]).copy_(from_vector(g, ps[i].shape()));
  }
}

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor x = a.to(Device::cpu()).contiguous(), y = b.to(Device::cpu()).contiguous();
  return x.shape() == y.shape() && std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0;
}

}  // namespace

TEST_CASE("PagedAdamW on the GPU: managed pages, AdamW's kernel bit for bit, the page counts the cuda:0 budget implies") {
  const std::vector<Shape> shapes = {{16, 64}, {256}, {8, 96}};
  const size_t page = 1024;
  AdamWOptions o;
  o.lr = 1e-2, o.weight_decay = 0.1;
  std::vector<Tensor> ref = make_params(shapes, gpu), on_cpu = make_params(shapes, Device::cpu());
  AdamW adamw(ref, o), cpu_adamw(on_cpu, o);
  for (int s = 1; s <= 20; s++) write_grads(ref, s), adamw.step(), write_grads(on_cpu, s), cpu_adamw.step();

  std::vector<Tensor> ps = make_params(shapes, gpu);
  size_t T = 0;
  for (const Tensor& p : ps) T += 2 * ((p.nbytes() + page - 1) / page);
  const size_t C = 6;  // pages of room: fewer than T; also enough for the finiteness check's temporary (4 KiB)
  const size_t base = memory_stats(gpu).current;
  GpuBudget budget(base + C * page + page / 2);
  PagedAdamW paged(ps, o, page);
  for (int s = 1; s <= 20; s++) {
    write_grads(ps, s);
    const PagingStats before = paged.pager().stats();
    paged.step();
    INFO("step " << s << ": " << paged.pager().report());
    CHECK(paged.pager().stats().page_ins - before.page_ins == T);
    CHECK(paged.pager().stats().page_outs - before.page_outs == (s == 1 ? T - C : T));
    CHECK(paged.pager().resident_pages() == C);
  }
  for (size_t i = 0; i < ps.size(); i++) {
    CHECK(same_bits(ps[i], ref[i]));
    const std::vector<float> got = ps[i].to_vector<float>(), want = on_cpu[i].to_vector<float>();
    for (size_t j = 0; j < got.size(); j++) REQUIRE(std::abs(got[j] - want[j]) <= 1e-6 * (1 + std::abs(want[j])));
  }
  const NamedTensors a = adamw.state_dict(), b = paged.state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); k++) {
    INFO(a[k].first);
    CHECK(a[k].first == b[k].first);
    CHECK(same_bits(a[k].second, b[k].second));
  }
}

TEST_CASE("PagedAdamW8bit on the GPU equals AdamW8bit on the GPU bit for bit") {
  const std::vector<Shape> shapes = {{64, 128}, {300}, {40, 130}};
  AdamWOptions o;
  o.lr = 1e-2;
  std::vector<Tensor> ref = make_params(shapes, gpu), ps = make_params(shapes, gpu);
  AdamW8bit eight(ref, o);
  PagedAdamW8bit paged(ps, o, {}, 2048);
  for (int s = 1; s <= 10; s++) write_grads(ref, s), eight.step(), write_grads(ps, s), paged.step();
  for (size_t i = 0; i < ps.size(); i++) CHECK(same_bits(ps[i], ref[i]));
  const NamedTensors a = eight.state_dict(), b = paged.state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); k++) {
    INFO(a[k].first);
    CHECK(same_bits(a[k].second, b[k].second));
  }
}

TEST_CASE("Managed memory is never asked for beyond what the card has free") {
  try {
    cuda::malloc_managed(0, size_t(1) << 50);  // 1 PiB
    FAIL("malloc_managed granted 1 PiB");
  } catch (const cuda::CudaError& e) {
    CHECK(e.out_of_memory());
    CHECK_THAT(std::string(e.what()), Catch::Contains("free on cuda:0"));
  }
  void* p = cuda::malloc_managed(0, 4096);
  CHECK(static_cast<unsigned char*>(p)[100] == 0);  // zeroed, readable from the host where it was placed
  cuda::free_managed(p);
}
