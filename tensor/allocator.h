// One allocator per device, with memory accounting and an optional budget.
//
// Every byte a tensor owns comes from here, so current and peak bytes are measured, not computed:
// lessons print memory_stats(), never a formula alone. A budget makes allocation refuse what would
// not fit (OutOfMemory names the request, what is in use and the budget), which lets a laptop
// pretend to be a small GPU and gives the paged optimizer something to page against.
//
// Not here: caching of freed blocks (each free goes straight back to the system or to cudaFree).
#pragma once

#include "tensor/device.h"

#include <cstddef>
#include <cstdint>
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

// "64MB", "1.5GiB", "4096" -> bytes (KB/MB/GB are 1000-based, KiB/MiB/GiB 1024-based).
size_t parse_bytes(const std::string& text);
// 1536 -> "1.50 KiB".
std::string format_bytes(size_t bytes);

}  // namespace lab
