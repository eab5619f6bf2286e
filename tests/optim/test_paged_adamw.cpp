// Paged optimizers (optim/paged_adamw.h) and the page manager under a CPU memory budget: PagedAdamW
// equals AdamW bit for bit while every step pages; the page counts are the ones the budget implies
// (derived here from the sizes and LRU order); an allocation that needs room pages state out and the
// next step brings it back; state_dict keys and round trips; PagedAdamW8bit equals AdamW8bit; the
// allocator's pressure handlers, host pool and OutOfMemory messages.
#include <catch2/catch.hpp>

#include "autograd/autograd.h"
#include "optim/adamw.h"
#include "optim/adamw8bit.h"
#include "optim/paged_adamw.h"
#include "tensor/all.h"
#include "tensor/finite.h"

#include <cmath>
#include <cstring>
#include <memory>

using namespace lab;

namespace {

// Sets the CPU budget for one test and removes it however the test ends.
struct CpuBudget {
  explicit CpuBudget(size_t bytes) { set_memory_budget(Device::cpu(), bytes); }
  ~CpuBudget() { set_memory_budget(Device::cpu(), 0); }
};

// Parameters with their grads allocated once: each step writes new gradients in place, so that a step
// allocates nothing but what the optimizer itself does, and the budget arithmetic below is exact.
std::vector<Tensor> make_params(const std::vector<Shape>& shapes, uint64_t seed) {
  Generator gen(seed);
  std::vector<Tensor> ps;
  for (const Shape& s : shapes) {
    Tensor p = randn(s, gen);
    ag::set_requires_grad(p);
    ag::set_grad(p, zeros(s));
    ps.push_back(p);
  }
  return ps;
}

// Gradients that depend only on (step, parameter, element).
void write_grads(const std::vector<Tensor>& ps, int step) {
  for (size_t i = 0; i < ps.size(); i++) {
    float* g = ag::grad(ps[i]).data<float>();
    for (int64_t j = 0; j < ps[i].numel(); j++) g[j] = float(std::sin(0.37 * double(j) + 1.3 * step + double(i)) * (1 + 0.1 * double(i)));
  }
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0;
}

// Pages of m and v (one buffer each per parameter) at `page_bytes`.
size_t state_pages(const std::vector<Tensor>& ps, size_t page_bytes) {
  size_t n = 0;
  for (const Tensor& p : ps) n += 2 * ((p.nbytes() + page_bytes - 1) / page_bytes);
  return n;
}

const std::vector<Shape> kShapes = {{16, 64}, {256}, {8, 96}};  // 4, 1 and 3 pages of 1 KiB per state tensor
constexpr size_t kPage = 1024;
constexpr size_t kStepCount = 8;  // the i64 [] step count each parameter gets at its first update

}  // namespace

TEST_CASE("PagedAdamW equals AdamW bit for bit over 100 steps while every step pages, with the page counts the budget implies") {
  AdamWOptions o;
  o.lr = 1e-2, o.weight_decay = 0.1;
  std::vector<Tensor> ref = make_params(kShapes, 7);
  AdamW adamw(ref, o);
  for (int s = 1; s <= 100; s++) write_grads(ref, s), adamw.step();

  std::vector<Tensor> ps = make_params(kShapes, 7);
  const size_t T = state_pages(ps, kPage);  // 16 pages of m and v in all
  const size_t C = 5;                       // pages the budget leaves room for, fewer than T: paging every step
  REQUIRE(C < T);
  // room for C pages (plus half a page of slack) once the step counts exist; C pages also hold the
  // largest temporary of Optimizer::step() (the finiteness check of a 4 KiB gradient)
  const size_t base = memory_stats(Device::cpu()).current;
  auto budget = std::make_unique<CpuBudget>(base + ps.size() * kStepCount + C * kPage + kPage / 2);
  PagedAdamW paged(ps, o, kPage);
  for (int s = 1; s <= 100; s++) {
    write_grads(ps, s);
    const PagingStats before = paged.pager().stats();
    paged.step();
    const PagingStats& after = paged.pager().stats();
    // Each step visits all T pages in the same order; with LRU and room for C < T, each visit misses:
    // T page-ins. Step 1 starts with nothing resident, so T - C page-outs; later steps start with C
    // resident and end with C, so T page-outs (whether the finiteness check or a page-in made them).
    INFO("step " << s << ": " << paged.pager().report());
    CHECK(after.page_ins - before.page_ins == T);
    CHECK(after.page_outs - before.page_outs == (s == 1 ? T - C : T));
    CHECK(paged.pager().resident_pages() == C);
    CHECK(memory_stats(Device::cpu()).current <= memory_stats(Device::cpu()).budget);
  }
  CHECK(host_memory_stats().current >= (T - C) * kPage);  // the pages moved out live in the unbudgeted host pool
  budget.reset();  // state_dict() copies every page into a tensor: the whole state's bytes, more than the budget has room for
  for (size_t i = 0; i < ps.size(); i++) {
    INFO("parameter " << i);
    CHECK(same_bits(ps[i], ref[i]));
  }
  // the state, as AdamW's state_dict names it, equal bit for bit
  const NamedTensors a = adamw.state_dict(), b = paged.state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); k++) {
    INFO(a[k].first);
    CHECK(a[k].first == b[k].first);
    CHECK(same_bits(a[k].second, b[k].second));
  }
  CHECK(paged.pager().stats().bytes_in == 100 * T * kPage);
}

TEST_CASE("An allocation under pressure pages optimizer state out, and the next step brings exactly those pages back") {
  AdamWOptions o;
  o.lr = 1e-2;
  std::vector<Tensor> ref = make_params(kShapes, 3);
  AdamW adamw(ref, o);
  for (int s = 1; s <= 3; s++) write_grads(ref, s), adamw.step();

  std::vector<Tensor> ps = make_params(kShapes, 3);
  const size_t T = state_pages(ps, kPage);
  const size_t base = memory_stats(Device::cpu()).current;
  // room for every page and the finiteness check's temporary: no paging once the state is in
  CpuBudget budget(base + ps.size() * kStepCount + (T + 5) * kPage);
  PagedAdamW paged(ps, o, kPage);
  write_grads(ps, 1), paged.step();
  CHECK(paged.pager().stats().page_ins == T);
  CHECK(paged.pager().stats().page_outs == 0);
  write_grads(ps, 2), paged.step();
  CHECK(paged.pager().stats().page_ins == T);  // all resident: nothing moved
  CHECK(paged.pager().stats().page_outs == 0);

  // "activations" 3 pages larger than the room left: the pager frees 3 pages, least recently used first
  const MemoryStats m = memory_stats(Device::cpu());
  const size_t room = m.budget - m.current;
  const size_t want_out = 3;
  const size_t bytes = room + want_out * kPage - 100;
  const PagingStats before = paged.pager().stats();
  {
    Tensor activations = Tensor::empty({int64_t(bytes)}, DType::u8);
    CHECK(paged.pager().stats().page_outs - before.page_outs == want_out);
    CHECK(paged.pager().stats().page_outs_for_others - before.page_outs_for_others == want_out);
    CHECK(paged.pager().resident_pages() == T - want_out);
  }
  write_grads(ps, 3), paged.step();
  CHECK(paged.pager().stats().page_ins - before.page_ins == want_out);  // exactly the evicted pages came back
  CHECK(paged.pager().stats().page_outs - before.page_outs == want_out);
  CHECK(paged.pager().resident_pages() == T);
  for (size_t i = 0; i < ps.size(); i++) CHECK(same_bits(ps[i], ref[i]));
}

TEST_CASE("PagedAdamW state_dict has AdamW's keys and round-trips both ways, and resumes bit for bit") {
  AdamWOptions o;
  o.lr = 5e-3;
  std::vector<Tensor> ref = make_params(kShapes, 11), ps = make_params(kShapes, 11);
  AdamW adamw(ref, o);
  PagedAdamW paged(ps, o, kPage);
  for (int s = 1; s <= 5; s++) write_grads(ref, s), adamw.step(), write_grads(ps, s), paged.step();

  // PagedAdamW's state into a fresh PagedAdamW (pages of another size) and into AdamW; AdamW's into PagedAdamW
  std::map<std::string, Tensor> paged_state, adamw_state;
  for (auto& [k, t] : paged.state_dict()) paged_state[k] = t.clone();
  for (auto& [k, t] : adamw.state_dict()) adamw_state[k] = t;
  REQUIRE(paged_state.size() == adamw_state.size());
  for (const auto& [k, t] : adamw_state) {
    INFO(k);
    REQUIRE(paged_state.count(k) == 1);
    CHECK(same_bits(paged_state.at(k), t));
  }
  std::vector<Tensor> ps2 = make_params(kShapes, 99), ref2 = make_params(kShapes, 99);
  for (size_t i = 0; i < ps.size(); i++) ps2[i].copy_(ps[i]), ref2[i].copy_(ref[i]);
  PagedAdamW resumed(ps2, o, 2048);
  resumed.load_state_dict(paged_state);
  AdamW plain(ref2, o);
  plain.load_state_dict(paged_state);
  CHECK(resumed.steps() == 5);
  for (int s = 6; s <= 10; s++) {
    write_grads(ps, s), paged.step();
    write_grads(ps2, s), resumed.step();
    write_grads(ref2, s), plain.step();
  }
  for (size_t i = 0; i < ps.size(); i++) {
    CHECK(same_bits(ps2[i], ps[i]));
    CHECK(same_bits(ref2[i], ps[i]));
  }
  // and AdamW's file into PagedAdamW: a wrong shape is refused with the key named, nothing changes
  std::map<std::string, Tensor> bad = adamw_state;
  bad["state.1.exp_avg"] = zeros({3});
  PagedAdamW victim(make_params(kShapes, 5), o, kPage);
  CHECK_THROWS_WITH(victim.load_state_dict(bad), Catch::Contains("state.1.exp_avg"));
  CHECK(victim.steps() == 0);
  victim.load_state_dict(adamw_state);
  CHECK(victim.steps() == 5);
  CHECK(same_bits(victim.state_dict()[1].second, adamw_state.at(victim.state_dict()[1].first)));
}

TEST_CASE("PagedAdamW8bit equals AdamW8bit bit for bit under paging, with AdamW8bit's state_dict keys") {
  AdamWOptions o;
  o.lr = 1e-2;
  const std::vector<Shape> shapes = {{64, 128}, {300}, {40, 130}};  // 8-bit, f32 (small), 8-bit with a short last block
  std::vector<Tensor> ref = make_params(shapes, 5), ps = make_params(shapes, 5);
  AdamW8bit eight(ref, o);
  for (int s = 1; s <= 20; s++) write_grads(ref, s), eight.step();
  const size_t page = 2048;
  {
    const size_t base = memory_stats(Device::cpu()).current;
    CpuBudget budget(base + ps.size() * kStepCount + 36 * 1024);  // the largest gradient check (32 KiB) and a few pages
    PagedAdamW8bit paged(ps, o, {}, page);
    for (int s = 1; s <= 20; s++) write_grads(ps, s), paged.step();
    INFO(paged.pager().report());
    CHECK(paged.pager().stats().page_outs > 0);
    for (size_t i = 0; i < ps.size(); i++) CHECK(same_bits(ps[i], ref[i]));
    const NamedTensors a = eight.state_dict(), b = paged.state_dict();
    REQUIRE(a.size() == b.size());
    for (size_t k = 0; k < a.size(); k++) {
      INFO(a[k].first);
      CHECK(a[k].first == b[k].first);
      CHECK(same_bits(a[k].second, b[k].second));
    }
    // 8-bit state: a byte each for m and v plus an f32 absmax per 256; the small parameter's is f32
    CHECK(paged.paged_state_bytes() == 2 * (8192 + 5200) + 2 * 4 * (32 + 21) + 2 * 4 * 300);
    // state_bytes() through the base class counts the pages too: the same total as the unpaged optimizer's
    const Optimizer& as_optimizer = paged;
    CHECK(as_optimizer.state_bytes() == eight.state_bytes());
  }
  std::map<std::string, Tensor> state;
  for (auto& [k, t] : eight.state_dict()) state[k] = t;
  std::vector<Tensor> ps2 = make_params(shapes, 1);
  for (size_t i = 0; i < ps.size(); i++) ps2[i].copy_(ref[i]);
  PagedAdamW8bit resumed(ps2, o, {}, page);
  resumed.load_state_dict(state);
  write_grads(ps2, 21), resumed.step();
  write_grads(ref, 21), eight.step();
  for (size_t i = 0; i < ps.size(); i++) CHECK(same_bits(ps2[i], ref[i]));
}

TEST_CASE("OutOfMemory names the budget and the request, for AdamW's state and for a budget too small to page in") {
  AdamWOptions o;
  std::vector<Tensor> ps = make_params(kShapes, 1);
  write_grads(ps, 1);
  const size_t base = memory_stats(Device::cpu()).current;
  // what Optimizer::step()'s finiteness check of the largest gradient (4 KiB) holds at once
  reset_peak_memory(Device::cpu());
  CHECK(all_finite(ag::grad(ps[0])));
  const size_t check = memory_stats(Device::cpu()).peak - base;
  REQUIRE(check >= 4096);
  {
    // room for the check and the step counts, not for both of the first parameter's m and v (4 KiB each)
    const size_t b = base + check + 64;
    CpuBudget budget(b);
    AdamW adamw(ps, o);
    try {
      adamw.step();
      FAIL("AdamW's state fitted a budget it should not fit");
    } catch (const OutOfMemory& e) {
      const std::string m = e.what();
      CHECK_THAT(m, Catch::Contains("asked for " + format_bytes(4096)) && Catch::Contains("budget " + format_bytes(b)) &&
                        Catch::Contains("HINT"));
    }
  }
  {
    // room for one page: m's page comes in, v's cannot (m's is pinned), and nothing else can go
    const size_t b = base + check + ps.size() * kStepCount;
    CpuBudget budget(b);
    PagedAdamW paged(ps, o, 4096);
    try {
      paged.step();
      FAIL("PagedAdamW paged in two 4 KiB pages with room for one");
    } catch (const OutOfMemory& e) {
      const std::string m = e.what();
      CHECK_THAT(m, Catch::Contains("asked for " + format_bytes(4096)) && Catch::Contains("budget " + format_bytes(b)));
    }
  }
}

TEST_CASE("The allocator asks pressure handlers for room before refusing, and the host pool is outside the budget") {
  const size_t base = memory_stats(Device::cpu()).current;
  CpuBudget budget(base + 10000);
  std::unique_ptr<Tensor> held = std::make_unique<Tensor>(Tensor::empty({2000}, DType::u8));
  size_t asked = 0;
  const uint64_t id = add_memory_pressure_handler(Device::cpu(), [&](size_t needed) {
    asked = needed;
    if (!held) return size_t(0);
    held.reset();
    return size_t(2000);
  });
  // 9000 bytes: 1000 too many while `held` lives; the handler frees it, the allocation goes through
  Tensor big = Tensor::empty({9000}, DType::u8);
  CHECK(asked == 1000);
  CHECK(!held);
  // nothing left to free: refused, and the message says the handlers had nothing
  CHECK_THROWS_WITH(Tensor::empty({2000}, DType::u8), Catch::Contains("had nothing left to free") && Catch::Contains("asked for"));
  remove_memory_pressure_handler(id);
  asked = 0;
  CHECK_THROWS_AS(Tensor::empty({2000}, DType::u8), OutOfMemory);
  CHECK(asked == 0);  // removed: not asked again
  // the host pool: counted on its own, never against the budget
  const size_t host_before = host_memory_stats().current;
  void* h = allocate_host(50000);
  CHECK(host_memory_stats().current == host_before + 50000);
  CHECK(memory_stats(Device::cpu()).current == base + 9000);
  deallocate_host(h, 50000);
  CHECK(host_memory_stats().current == host_before);
}
