// The emulator's kernel launches: each block's threads as fibers (a stack each) on the calling host
// thread, run in turn until every one has returned. A fiber gives the host thread up only at a
// barrier (to the next ready fiber), so a kernel with no barrier runs each thread start to finish, in
// rank order.
//
// Barriers: __syncthreads waits for every thread of the block that has not returned; __syncwarp and
// the shuffles wait for the lanes of their mask. When no fiber can run and some have not finished,
// the block is deadlocked (on a GPU: a hang, or undefined behaviour); that is a fault naming the
// kernel, the block and the threads that wait.
//
// Which ready thread runs next (LAB_EMULATOR_SCHEDULE). By default, `in-order`: blocks in index
// order, threads first in first out, the last thread to reach a barrier going on first: the fastest.
// A kernel that is right on a GPU is right in any order, so three others turn races into wrong
// answers: `low-first` always runs the lowest ready rank (low threads run ahead as far as barriers
// let them), `high-first` the highest (and the blocks last to first), `random:SEED` any ready thread
// (and the blocks in a random order). A read of shared memory that another thread writes with no
// barrier between them sees the wrong value in one of these, and a block that reads what another
// block writes finds it unwritten (tests/cuda_emulator/self_test.cu has one of each).
#include "tests/cuda_emulator/emulator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <ucontext.h>

// Under AddressSanitizer (EMU_ASAN, emulator.h), each switch of stacks is announced to it, and a
// finished fiber clears its last frame, so it neither loses track of the stack it is on nor
// reports a returned fiber's frames as overflows when the stack is reused.
#ifdef EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace emu {

// --- switching stacks
// x86-64: push the six callee-saved registers, swap the stack pointer, pop the other fiber's. (The
// SSE and x87 control words are not switched: no kernel changes the rounding mode.) ucontext's
// swapcontext also makes a system call for the signal mask each time, which made barrier-heavy
// kernels 9 times slower (test_cuda's max/argmax case: 274 s against 30 s); it remains the fallback
// on other CPUs. A switch with the scheduling around it still takes ~50 ns (the sum case: 187M
// switches in 10 s, LAB_EMULATOR_TRACE), and dropping the control words did not change that.
#if defined(__x86_64__)
extern "C" void emu_switch_stack(void** save_sp, void* load_sp);
asm(R"(
  .text
  .globl emu_switch_stack
  .type emu_switch_stack, @function
emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size emu_switch_stack, .-emu_switch_stack
  .section .note.GNU-stack, "", @progbits
  .text
)");

struct Context {
  void* sp = nullptr;
  const void* stack = nullptr;  // its lowest usable byte and size: the host's, once a fiber has learnt them
  size_t stack_bytes = 0;
  void* asan_fake_stack = nullptr;
};
// A stack whose first switch "returns" into entry.
void start_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top - 16 - 6 * 8);  // entry then starts with rsp = 8 mod 16, as after a call
  for (int r = 0; r < 6; r++) frame[r] = 0;                       // r15 r14 r13 r12 rbx rbp
  frame[6] = reinterpret_cast<uint64_t>(entry);
  c.sp = frame, c.stack = stack, c.stack_bytes = bytes;
}
void raw_switch(Context& from, Context& to) { emu_switch_stack(&from.sp, to.sp); }
#else
struct Context {
  ucontext_t uc;
  const void* stack = nullptr;
  size_t stack_bytes = 0;
  void* asan_fake_stack = nullptr;
};
void start_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = bytes;
  c.uc.uc_link = nullptr;  // entry never returns
  makecontext(&c.uc, entry, 0);
  c.stack = stack, c.stack_bytes = bytes;
}
void raw_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

uint64_t switch_count = 0;  // for LAB_EMULATOR_TRACE

// From `from` to `to`; returns when something switches back to `from`. `for_good`: `from` is a
// fiber that has returned and is never resumed.
void switch_context(Context& from, Context& to, bool for_good = false) {
  switch_count++;
#ifdef EMU_ASAN
  __sanitizer_start_switch_fiber(for_good ? nullptr : &from.asan_fake_stack, to.stack, to.stack_bytes);
  raw_switch(from, to);
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, nullptr, nullptr);
#else
  (void)for_good;
  raw_switch(from, to);
#endif
}
// The first thing a fiber does: tell the sanitizer it arrived, and learn the host's stack from it.
// The block's first fiber always starts from the host; later ones may start from another fiber, whose
// stack is not the host's, so only the first answer is kept.
void enter_fiber(Context& host) {
#ifdef EMU_ASAN
  const void* from_stack = nullptr;
  size_t from_bytes = 0;
  __sanitizer_finish_switch_fiber(nullptr, &from_stack, &from_bytes);
  if (host.stack == nullptr) host.stack = from_stack, host.stack_bytes = from_bytes;
#else
  (void)host;
#endif
}
// A fiber that has returned leaves its stack for good from inside fiber_main, which never returns,
// so ASan would keep the red zones of that frame poisoned on a stack the next block reuses: clear
// them, as ASan does itself before a longjmp.
void forget_frames() {
#ifdef EMU_ASAN
  __asan_handle_no_return();
#endif
}

thread_local Thread* current = nullptr;
dim3 grid_dim, block_dim;
void set_last_error(cudaError_t status);  // runtime.cpp

namespace {

constexpr size_t kStackBytes = 256 << 10;  // per CUDA thread; WMMA fragments hold whole tiles here
constexpr size_t kGuardBytes = 4096;        // the lowest page of each stack, never readable
constexpr unsigned kFullMask = 0xffffffffu;

enum class State { ready, waiting, done };

struct Fiber {
  Thread thread;
  State state = State::ready;
  Context context;
};

struct Warp {
  unsigned lanes = 0;     // the lanes that exist (a block of 48 threads has a warp of 16)
  unsigned exited = 0;    // lanes whose thread returned
  unsigned arrived = 0;   // lanes waiting at the current warp barrier
  unsigned expected = 0;  // the mask that barrier waits for
  // A shuffle posts to slot[parity] and reads after one barrier; the next shuffle uses the other
  // parity, and nobody can post to this one again before all have passed that next barrier, so
  // every read is done by then: one barrier a shuffle, not two.
  uint64_t slot[2][32] = {};
  unsigned parity[32] = {};
  const void* collective_p[32] = {};
  unsigned collective_ldm[32] = {};
};

struct Block {
  const char* kernel = "";
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  // The ready threads: in-order keeps them first in first out (queue, from `next`); low-first and
  // high-first as a bit a rank; random in a list it draws from.
  std::vector<unsigned> queue;
  size_t next = 0;
  std::vector<uint64_t> ready_bits;
  std::vector<unsigned> ready_list;
  unsigned live = 0, at_barrier = 0;
  Context host;
  Fiber* running = nullptr;
};

Block* block_now = nullptr;  // launches do not nest
std::vector<char*> stack_pool;

// --- the order of blocks and threads
enum class Order { in_order, low_first, high_first, random };
struct Schedule {
  Order order = Order::in_order;
  uint64_t seed = 0;
};

Schedule schedule_from_environment() {
  const char* v = std::getenv("LAB_EMULATOR_SCHEDULE");
  Schedule s;
  if (v == nullptr || *v == '\0' || !std::strcmp(v, "in-order")) return s;
  char* end = nullptr;
  if (!std::strcmp(v, "low-first")) {
    s.order = Order::low_first;
  } else if (!std::strcmp(v, "high-first")) {
    s.order = Order::high_first;
  } else if (!std::strcmp(v, "random")) {
    s.order = Order::random;
  } else if (!std::strncmp(v, "random:", 7) && v[7] != '\0' && (s.seed = std::strtoull(v + 7, &end, 10), *end == '\0')) {
    s.order = Order::random;
  } else {
    std::fprintf(stderr, "cuda emulator: LAB_EMULATOR_SCHEDULE=%s: expected in-order, low-first, high-first, random or random:SEED (SEED a decimal number)\n", v);
    std::exit(2);
  }
  std::fprintf(stderr, "cuda emulator: schedule %s (LAB_EMULATOR_SCHEDULE)\n", v);
  return s;
}
const Schedule schedule = schedule_from_environment();

// splitmix64: the random order's numbers, one stream for the whole program, so a seed repeats a run.
uint64_t random_state = schedule.seed * 0x9E3779B97F4A7C15ull + 1;
uint64_t next_random() {
  uint64_t z = (random_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The i-th block to run (of n), as a linear index x + gx (y + gy z): i itself, n - 1 - i
// (high-first), or a shuffled table (random; 4 bytes a block, a grid the emulator can finish at all).
struct BlockOrder {
  uint64_t n;
  std::vector<uint32_t> table;
  explicit BlockOrder(uint64_t blocks) : n(blocks) {
    if (schedule.order != Order::random) return;
    table.resize(n);
    std::iota(table.begin(), table.end(), 0u);
    for (uint64_t i = n; i > 1; i--) std::swap(table[i - 1], table[next_random() % i]);
  }
  uint64_t operator()(uint64_t i) const {
    if (schedule.order == Order::high_first) return n - 1 - i;
    if (schedule.order == Order::random) return table[i];
    return i;
  }
};

[[noreturn]] void fault(const std::string& what) {
  const Thread* t = current;
  std::fprintf(stderr, "cuda emulator: FAULT in kernel %s", block_now ? block_now->kernel : "?");
  if (t)
    std::fprintf(stderr, ", block (%u, %u, %u), thread (%u, %u, %u)", t->block_idx.x, t->block_idx.y, t->block_idx.z, t->thread_idx.x,
                 t->thread_idx.y, t->thread_idx.z);
  std::fprintf(stderr, ": %s\n", what.c_str());
  std::abort();
}

bool pick(Block& b, unsigned& rank);  // below, with the schedules

// The running fiber gives the host thread up, and the schedule picks who runs next: the fiber
// switches straight to that one, or to the host's loop in run_kernel when none is ready (where a
// deadlock is found). Fiber to fiber is half the switches of going through the host every time: the
// max/argmax test ran in 53 s instead of 61 under the sanitizers, and test_cuda's cases in 81 s
// instead of 97 (2 cores, 2026-11-29). A fiber that picks itself (it woke itself at a barrier) goes
// on. The fiber runs again once picked (it must be ready, or made ready later by a barrier's release).
void yield() {
  Block& b = *block_now;
  Fiber* self = b.running;
  unsigned rank;
  Fiber* next = pick(b, rank) ? &b.fibers[rank] : nullptr;
  if (next == self) return;
  b.running = next;
  if (next) current = &next->thread;
  switch_context(self->context, next ? next->context : b.host);
  current = &self->thread;
}

// The running fiber waits at a barrier, until the barrier's last arrival makes it ready again.
void wait() {
  block_now->running->state = State::waiting;
  yield();
}

void wake(Block& b, unsigned rank) {
  b.fibers[rank].state = State::ready;
  switch (schedule.order) {
    case Order::in_order: b.queue.push_back(rank); break;
    case Order::low_first:
    case Order::high_first: b.ready_bits[rank / 64] |= uint64_t(1) << (rank % 64); break;
    case Order::random: b.ready_list.push_back(rank); break;
  }
}

// The next thread to run, by the schedule; false when none is ready.
bool pick(Block& b, unsigned& rank) {
  switch (schedule.order) {
    case Order::in_order:
      if (b.next == b.queue.size()) return false;
      rank = b.queue[b.next++];
      if (b.next == b.queue.size()) b.queue.clear(), b.next = 0;
      return true;
    case Order::low_first:
      for (size_t w = 0; w < b.ready_bits.size(); w++)
        if (uint64_t& bits = b.ready_bits[w]; bits != 0) {
          rank = unsigned(w * 64 + __builtin_ctzll(bits));
          bits &= bits - 1;
          return true;
        }
      return false;
    case Order::high_first:
      for (size_t w = b.ready_bits.size(); w-- > 0;)
        if (uint64_t& bits = b.ready_bits[w]; bits != 0) {
          const unsigned bit = 63u - unsigned(__builtin_clzll(bits));
          rank = unsigned(w * 64 + bit);
          bits &= ~(uint64_t(1) << bit);
          return true;
        }
      return false;
    case Order::random:
      if (b.ready_list.empty()) return false;
      const size_t i = next_random() % b.ready_list.size();
      rank = b.ready_list[i];
      b.ready_list[i] = b.ready_list.back();
      b.ready_list.pop_back();
      return true;
  }
  return false;
}


void (*kernel_body)(void*) = nullptr;  // the launch's per-thread body and its arguments
void* kernel_ctx = nullptr;

void fiber_main() {
  Block& b = *block_now;
  enter_fiber(b.host);
  Fiber& f = *b.running;
  current = &f.thread;
  kernel_body(kernel_ctx);
  if (b.at_barrier > 0)
    fault("returned while " + std::to_string(b.at_barrier) + " threads of its block wait at __syncthreads(): on a GPU every thread must reach it");
  f.state = State::done;  // it no longer counts for __syncthreads or its warp
  b.live--;
  b.warps[f.thread.rank / 32].exited |= 1u << f.thread.lane;
  forget_frames();
  // For good: a finished fiber is never switched to again. It goes to the host, not straight to the
  // next fiber as yield does: from a returned fiber that confused ASan's record of the stacks (a
  // CHECK failure in GetStackFrameAccessByAddr), and it is one switch a thread.
  b.running = nullptr;
  switch_context(f.context, b.host, true);
}

}  // namespace

void sync_block() {
  Block& b = *block_now;
  if (b.live < b.fibers.size()) fault("__syncthreads() after some threads of the block returned: on a GPU every thread must reach it");
  if (++b.at_barrier < b.live) return wait();
  b.at_barrier = 0;  // the last to arrive lets the others go on, and (in order) goes on itself
  const bool self_too = schedule.order != Order::in_order;  // or lets the schedule choose among them all
  for (unsigned r = 0; r < b.fibers.size(); r++)
    if (b.fibers[r].state == State::waiting || (self_too && &b.fibers[r] == b.running)) wake(b, r);
  if (self_too) yield();
}

void sync_warp(unsigned mask) {
  Block& b = *block_now;
  const Thread& t = b.running->thread;
  const unsigned w = t.rank / 32, me = 1u << t.lane;
  Warp& warp = b.warps[w];
  if (!(mask & me)) fault("__syncwarp or a shuffle called by a lane outside its mask");
  if (mask & ~warp.lanes) fault("a warp operation's mask names lanes past the end of the block (its warp has fewer than 32 threads)");
  if (mask & warp.exited) fault("a warp operation's mask names a lane that has returned");
  if (warp.arrived == 0)
    warp.expected = mask;
  else if (warp.expected != mask)
    fault("lanes of one warp called a warp operation with different masks");
  warp.arrived |= me;
  if ((warp.arrived & warp.expected) != warp.expected) return wait();
  const unsigned others = warp.arrived & ~me;
  warp.arrived = 0;
  const bool self_too = schedule.order != Order::in_order;  // as in sync_block
  const unsigned released = self_too ? others | me : others;
  for (unsigned lane = 0; lane < 32; lane++)
    if (released & (1u << lane)) wake(b, w * 32 + lane);
  if (self_too) yield();
}

uint64_t shuffle(unsigned mask, uint64_t bits, unsigned src_lane) {
  Block& b = *block_now;
  const Thread& t = b.running->thread;
  Warp& warp = b.warps[t.rank / 32];
  if (src_lane >= 32 || !(mask & (1u << src_lane))) fault("a shuffle reads lane " + std::to_string(src_lane) + ", which is not in its mask");
  const unsigned p = warp.parity[t.lane];
  warp.parity[t.lane] ^= 1u;
  warp.slot[p][t.lane] = bits;
  sync_warp(mask);  // every lane has posted
  return warp.slot[p][src_lane];
}

void warp_collective(const char* what, const void* p, unsigned ldm) {
  Block& b = *block_now;
  const Thread& t = b.running->thread;
  Warp& warp = b.warps[t.rank / 32];
  warp.collective_p[t.lane] = p, warp.collective_ldm[t.lane] = ldm;
  sync_warp(kFullMask);
  for (unsigned lane = 0; lane < 32; lane++)
    if (warp.collective_p[lane] != p || warp.collective_ldm[lane] != ldm)
      fault(std::string(what) + ": the lanes of the warp passed different pointers or leading dimensions");
  sync_warp(kFullMask);
}

void device_fault(const char* what) { fault(what); }

cudaError_t run_kernel(const char* name, dim3 grid, dim3 block, size_t dynamic_shared, void (*body)(void*), void* ctx) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  // The limits of every GPU CUDA 13 supports (compute capability 7.5 and newer).
  const bool valid = threads >= 1 && threads <= 1024 && block.z <= 64 && grid.x >= 1 && grid.y >= 1 && grid.z >= 1 &&
                     grid.x <= 2147483647u && grid.y <= 65535 && grid.z <= 65535 && dynamic_shared <= (227u << 10);
  if (!valid) {
    set_last_error(cudaErrorInvalidConfiguration);
    return cudaErrorInvalidConfiguration;
  }
  if (block_now) fault(std::string("kernel ") + name + " launched from inside a kernel");
  if (dynamic_shared > 0) fault(std::string("kernel ") + name + " asks for dynamic shared memory, which the emulator does not provide");

  static const bool trace = std::getenv("LAB_EMULATOR_TRACE") != nullptr;
  if (trace)
    std::fprintf(stderr, "cuda emulator: %s grid (%u, %u, %u) block (%u, %u, %u)\n", name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
  const auto start = std::chrono::steady_clock::now();
  const uint64_t switches_before = switch_count;
  Block b;
  b.kernel = name;
  b.fibers.resize(threads);
  b.warps.resize((threads + 31) / 32);
  for (unsigned w = 0; w < b.warps.size(); w++) {
    const uint64_t n = std::min<uint64_t>(32, threads - uint64_t(w) * 32);
    b.warps[w].lanes = n == 32 ? kFullMask : (1u << n) - 1;
  }
  while (stack_pool.size() < threads) {
    void* s = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s == MAP_FAILED) fault("no memory for the emulated threads' stacks");
    mprotect(s, kGuardBytes, PROT_NONE);  // a guard page: a thread that overflows its stack faults instead of writing into the next
    stack_pool.push_back(static_cast<char*>(s));
  }
  grid_dim = grid, block_dim = block;
  kernel_body = body, kernel_ctx = ctx;
  block_now = &b;
  Thread* const caller = current;
  open_device_memory();

  const uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
  const BlockOrder block_order(blocks);
  for (uint64_t i = 0; i < blocks; i++) {
    const uint64_t linear = block_order(i);
    const unsigned bx = unsigned(linear % grid.x), by = unsigned(linear / grid.x % grid.y), bz = unsigned(linear / grid.x / grid.y);
    b.live = unsigned(threads), b.at_barrier = 0;
    for (Warp& w : b.warps) w.exited = w.arrived = w.expected = 0, std::fill(std::begin(w.parity), std::end(w.parity), 0u);
    b.queue.clear(), b.next = 0, b.ready_bits.assign((threads + 63) / 64, 0), b.ready_list.clear();
    for (unsigned r = 0; r < threads; r++) {
      Fiber& f = b.fibers[r];
      f.thread.block_idx = {bx, by, bz};
      f.thread.thread_idx = {r % block.x, (r / block.x) % block.y, unsigned(r / (uint64_t(block.x) * block.y))};
      f.thread.rank = r, f.thread.lane = r % 32;
      f.state = State::ready;
      start_context(f.context, stack_pool[r] + kGuardBytes, kStackBytes - kGuardBytes, fiber_main);
      wake(b, r);
    }
    // Run whoever the schedule picks until all have returned; none ready before that is a deadlock.
    for (unsigned rank; pick(b, rank);) {
      Fiber& f = b.fibers[rank];
      b.running = &f;
      current = &f.thread;
      switch_context(b.host, f.context);
    }
    if (b.live > 0) {
      std::string waits;
      for (const Fiber& f : b.fibers)
        if (f.state == State::waiting) {
          if (waits.size() > 400) { waits += " ..."; break; }
          waits += ' ', waits += std::to_string(f.thread.rank);  // not " " + ...: GCC 12 -Wstringop-overflow false positive
        }
      current = nullptr;
      fault("deadlock: threads wait at a barrier that the others of their block or warp never reach:" + waits);
    }
  }
  close_device_memory();
  block_now = nullptr;
  current = caller;
  if (trace)
    std::fprintf(stderr, "cuda emulator: %s ran in %.3f s, %llu switches\n", name,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), (unsigned long long)(switch_count - switches_before));
  set_last_error(cudaSuccess);
  return cudaSuccess;
}

}  // namespace emu
