// The emulator's kernel launches: each block's threads as fibers (a stack each) on the calling host
// thread, run in turn until every one has returned. A fiber gives the host thread back only at a
// barrier, so a kernel with no barrier runs each thread start to finish, in rank order.
//
// Barriers: __syncthreads waits for every thread of the block that has not returned; __syncwarp and
// the shuffles wait for the lanes of their mask. When no fiber can run and some have not finished,
// the block is deadlocked (on a GPU: a hang, or undefined behaviour); that is a fault naming the
// kernel, the block and the threads that wait.
#include "tests/cuda_emulator/emulator.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <ucontext.h>

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
};
// A stack whose first switch "returns" into entry.
void start_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top - 16 - 6 * 8);  // entry then starts with rsp = 8 mod 16, as after a call
  for (int r = 0; r < 6; r++) frame[r] = 0;                       // r15 r14 r13 r12 rbx rbp
  frame[6] = reinterpret_cast<uint64_t>(entry);
  c.sp = frame;
}
void switch_context(Context& from, Context& to) { emu_switch_stack(&from.sp, to.sp); }
#else
struct Context {
  ucontext_t uc;
};
void start_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = bytes;
  c.uc.uc_link = nullptr;  // entry never returns
  makecontext(&c.uc, entry, 0);
}
void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

thread_local Thread* current = nullptr;
dim3 grid_dim, block_dim;
void set_last_error(cudaError_t status);  // runtime.cpp

namespace {

constexpr size_t kStackBytes = 256 << 10;  // per CUDA thread; WMMA fragments hold whole tiles here
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
  std::vector<unsigned> queue;  // ranks ready to run, first in first out from `next`
  size_t next = 0;
  unsigned live = 0, at_barrier = 0;
  Context host;
  Fiber* running = nullptr;
};

Block* block_now = nullptr;  // launches do not nest
std::vector<char*> stack_pool;

[[noreturn]] void fault(const std::string& what) {
  const Thread* t = current;
  std::fprintf(stderr, "cuda emulator: FAULT in kernel %s", block_now ? block_now->kernel : "?");
  if (t)
    std::fprintf(stderr, ", block (%u, %u, %u), thread (%u, %u, %u)", t->block_idx.x, t->block_idx.y, t->block_idx.z, t->thread_idx.x,
                 t->thread_idx.y, t->thread_idx.z);
  std::fprintf(stderr, ": %s\n", what.c_str());
  std::abort();
}

// The running fiber waits: back to the scheduler, until a barrier's last arrival queues it again.
void wait() {
  Block& b = *block_now;
  Fiber* self = b.running;
  self->state = State::waiting;
  switch_context(self->context, b.host);
  current = &self->thread;
}

void wake(Block& b, unsigned rank) {
  b.fibers[rank].state = State::ready;
  b.queue.push_back(rank);
}

void (*kernel_body)(void*) = nullptr;  // the launch's per-thread body and its arguments
void* kernel_ctx = nullptr;

void fiber_main() {
  Block& b = *block_now;
  Fiber& f = *b.running;
  current = &f.thread;
  kernel_body(kernel_ctx);
  if (b.at_barrier > 0)
    fault("returned while " + std::to_string(b.at_barrier) + " threads of its block wait at __syncthreads(): on a GPU every thread must reach it");
  f.state = State::done;  // it no longer counts for __syncthreads or its warp
  b.live--;
  b.warps[f.thread.rank / 32].exited |= 1u << f.thread.lane;
  switch_context(f.context, b.host);  // for good: a finished fiber is never switched to again
}

}  // namespace

void sync_block() {
  Block& b = *block_now;
  if (b.live < b.fibers.size()) fault("__syncthreads() after some threads of the block returned: on a GPU every thread must reach it");
  if (++b.at_barrier < b.live) return wait();
  b.at_barrier = 0;  // the last to arrive lets the others go on, and goes on itself
  for (unsigned r = 0; r < b.fibers.size(); r++)
    if (b.fibers[r].state == State::waiting) wake(b, r);
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
  for (unsigned lane = 0; lane < 32; lane++)
    if (others & (1u << lane)) wake(b, w * 32 + lane);
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
  uint64_t switches = 0;
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
    mprotect(s, 4096, PROT_NONE);  // a guard page: a thread that overflows its stack faults instead of writing into the next
    stack_pool.push_back(static_cast<char*>(s));
  }
  grid_dim = grid, block_dim = block;
  kernel_body = body, kernel_ctx = ctx;
  block_now = &b;
  Thread* const caller = current;
  open_device_memory();

  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        b.live = unsigned(threads), b.at_barrier = 0;
        for (Warp& w : b.warps) w.exited = w.arrived = w.expected = 0, std::fill(std::begin(w.parity), std::end(w.parity), 0u);
        b.queue.clear(), b.next = 0;
        for (unsigned r = 0; r < threads; r++) {
          Fiber& f = b.fibers[r];
          f.thread.block_idx = {bx, by, bz};
          f.thread.thread_idx = {r % block.x, (r / block.x) % block.y, unsigned(r / (uint64_t(block.x) * block.y))};
          f.thread.rank = r, f.thread.lane = r % 32;
          f.state = State::ready;
          start_context(f.context, stack_pool[r], kStackBytes, fiber_main);
          b.queue.push_back(r);
        }
        // Run whoever is ready, in the order they became so, until all have returned; an empty queue
        // before that is a deadlock.
        while (b.next < b.queue.size()) {
          Fiber& f = b.fibers[b.queue[b.next++]];
          if (b.next == b.queue.size()) b.queue.clear(), b.next = 0;
          b.running = &f;
          current = &f.thread;
          switch_context(b.host, f.context);
          switches++;
        }
        if (b.live > 0) {
          std::string waits;
          for (const Fiber& f : b.fibers)
            if (f.state == State::waiting) {
              if (waits.size() > 400) { waits += " ..."; break; }
              waits += " " + std::to_string(f.thread.rank);
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
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), (unsigned long long)switches);
  set_last_error(cudaSuccess);
  return cudaSuccess;
}

}  // namespace emu
