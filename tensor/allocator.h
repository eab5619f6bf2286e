// One allocator per device, with memory accounting and an optional budget.
//
// Every byte a tensor owns comes from here, so current and peak bytes are measured, not computed:
// lessons print memory_stats(), never a formula alone. A budget makes allocation refuse what would
// not fit (OutOfMemory names the request, what is in use and the budget), which lets a laptop
// pretend to be a small GPU and gives the paged optimizer something to page against.
//
// A memory-pressure handler (the page manager of optim/page_manager.h) may free room before a budget
// refuses: the allocator asks it, then tries again. The host pool is CPU memory outside every budget,
// where that page manager keeps the pages it moved out; it is measured all the same.
// Not here: caching of freed blocks (each free goes straight back to the system or to cudaFree).
#pragma once

#include "tensor/device.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace lab {

struct MemoryStats {
  size_t current = 0;      // bytes held by live allocations
  size_t peak = 0;         // most bytes held at once since the last reset_peak_memory
  size_t budget = 0;       // 0 = no budget
  uint64_t allocations = 0;  // how many allocations were made in all
};

void* allocate(Device device, size_t bytes);  // 64-byte aligned on the CPU; nullptr for 0 bytes
void deallocate(Device device, void* ptr, size_t bytes);

MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
void set_memory_budget(Device device, size_t bytes);  // 0 removes the budget

// Called when an allocation of `device` would pass its budget by `needed` bytes, before OutOfMemory is
// thrown: it frees what it can (e.g. evicts least recently used pages) and returns the bytes it freed.
// Handlers run in the order they were added, outside the allocator's lock, until enough is free; an
// allocation made while a handler runs (on that thread) gets no handler, so a handler never recurses.
using MemoryPressureHandler = std::function<size_t(size_t needed)>;
uint64_t add_memory_pressure_handler(Device device, MemoryPressureHandler handler);  // returns its id
void remove_memory_pressure_handler(uint64_t id);                                   // unknown ids are ignored

// Bytes that another allocator holds on `device` (cudaMallocManaged pages resident on the GPU),
// counted in its stats and against its budget exactly as allocate() counts (pressure handlers, then
// OutOfMemory), without allocating anything. uncharge_memory gives them back.
void charge_memory(Device device, size_t bytes);
void uncharge_memory(Device device, size_t bytes);

// The host pool: plain CPU memory (64-byte aligned) outside every budget, with its own stats.
void* allocate_host(size_t bytes);
void deallocate_host(void* ptr, size_t bytes);
MemoryStats host_memory_stats();

// "64MB", "1.5GiB", "4096" -> bytes (KB/MB/GB are 1000-based, KiB/MiB/GiB 1024-based).
size_t parse_bytes(const std::string& text);
// 1536 -> "1.50 KiB".
std::string format_bytes(size_t bytes);

}  // namespace lab
