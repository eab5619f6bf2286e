// The per-device allocators of allocator.h.
#include "tensor/allocator.h"

#include "tensor/error.h"

#if LAB_HAS_CUDA
#include "cuda/cuda_error.h"
#include "cuda/runtime.h"
#endif

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace lab {

namespace {

constexpr int kMaxGpus = 16;

struct PressureHandler {
  uint64_t id;
  Device device;
  MemoryPressureHandler free_room;
};

struct Accounts {
  std::mutex mutex;
  MemoryStats cpu;
  MemoryStats gpu[kMaxGpus];
  MemoryStats host;  // the unbudgeted host pool
  std::vector<PressureHandler> handlers;
  uint64_t next_handler_id = 1;
  MemoryStats& of(Device d) {
    if (d.is_cpu()) return cpu;
    LAB_CHECK(d.index >= 0 && d.index < kMaxGpus, "device {} is out of range (at most {} GPUs)", d.str(), kMaxGpus);
    return gpu[d.index];
  }
};

Accounts& accounts() {
  static Accounts a;
  return a;
}

#if LAB_HAS_CUDA
// The card itself refused (not our budget): the same OutOfMemory as the budget's, with what the card
// has free, so the user sees whether the request was absurd or the card is simply full.
std::string gpu_out_of_memory(Device device, size_t bytes, size_t in_use, size_t peak) {
  std::string card = "the card's free memory is unknown";
  try {
    size_t free_bytes = 0, total_bytes = 0;
    cuda::free_and_total_memory(device.index, &free_bytes, &total_bytes);
    card = fmt::format("{} free of {} on the card", format_bytes(free_bytes), format_bytes(total_bytes));
  } catch (const cuda::CudaError&) {
  }
  return fmt::format("out of memory on {}: cudaMalloc of {} failed, {}, {} in use by loralab (peak {}) "
                     "(HINT: use a smaller --batch or model; --mem-budget below the free memory makes loralab refuse "
                     "earlier with the same accounting; check nvidia-smi for other processes)",
                     device.str(), format_bytes(bytes), card, format_bytes(in_use), format_bytes(peak));
}
#endif

// True while this thread runs a pressure handler: what the handler allocates gets no handler itself.
thread_local bool in_pressure_handler = false;

struct HandlerScope {
  HandlerScope() { in_pressure_handler = true; }
  ~HandlerScope() { in_pressure_handler = false; }
};

// Counts `bytes` on `device` if the budget allows, after asking the pressure handlers for room when it
// does not; else throws OutOfMemory naming the request, what is in use and the budget. Returns the
// current and peak bytes from before, so that a caller whose system allocation fails can undo it.
void reserve(Device device, size_t bytes, size_t* in_use_before, size_t* peak_before) {
  Accounts& a = accounts();
  size_t freed_by_handlers = 0;
  bool stalled = false;  // the last round of handlers freed nothing
  while (true) {
    std::vector<MemoryPressureHandler> handlers;
    size_t needed = 0;
    {
      std::lock_guard<std::mutex> lock(a.mutex);
      MemoryStats& s = a.of(device);
      if (s.budget == 0 || (bytes <= s.budget && s.current <= s.budget - bytes)) {
        *in_use_before = s.current, *peak_before = s.peak;
        s.current += bytes;
        s.peak = std::max(s.peak, s.current);
        s.allocations += 1;
        return;
      }
      if (bytes <= s.budget && !in_pressure_handler && !stalled)
        for (const PressureHandler& h : a.handlers)
          if (h.device == device) handlers.push_back(h.free_room);
      if (handlers.empty()) {
        const std::string freed =
            freed_by_handlers > 0 ? fmt::format(" ({} freed by memory-pressure handlers was not enough)", format_bytes(freed_by_handlers))
            : stalled             ? std::string(" (the memory-pressure handlers had nothing left to free)")
                                  : std::string();
        throw OutOfMemory(fmt::format("out of memory on {}: asked for {}, {} in use, budget {}{} (HINT: raise --mem-budget, or use a smaller "
                                      "model or batch, or a paged optimizer)",
                                      device.str(), format_bytes(bytes), format_bytes(s.current), format_bytes(s.budget), freed));
      }
      needed = s.current + bytes - s.budget;
    }
    // Outside the lock: the handlers free memory, and deallocate() takes the lock.
    size_t freed = 0;
    {
      HandlerScope scope;
      for (const MemoryPressureHandler& free_room : handlers) {
        freed += free_room(needed - std::min(freed, needed));
        if (freed >= needed) break;
      }
    }
    freed_by_handlers += freed;
    stalled = freed == 0;
  }
}

// Undoes reserve() after the system refused: no trace in current, nor in peak (unless others raised it meanwhile).
void unreserve(Device device, size_t bytes, size_t in_use_before, size_t peak_before) {
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  MemoryStats& s = a.of(device);
  s.current -= bytes;
  if (s.peak == in_use_before + bytes) s.peak = std::max(peak_before, s.current);
}

}  // namespace

void* allocate(Device device, size_t bytes) {
  if (bytes == 0) return nullptr;
  size_t in_use_before = 0, peak_before = 0;  // to undo the accounting if the system refuses
  reserve(device, bytes, &in_use_before, &peak_before);
  void* ptr = nullptr;
  try {
    if (device.is_cpu()) {
      // aligned_alloc wants a size that is a multiple of the alignment.
      ptr = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!ptr) throw OutOfMemory(fmt::format("out of memory on cpu: the system refused {}", format_bytes(bytes)));
    } else {
#if LAB_HAS_CUDA
      try {
        ptr = cuda::malloc(device.index, bytes);
      } catch (const cuda::CudaError& e) {
        if (!e.out_of_memory()) throw;
        throw OutOfMemory(gpu_out_of_memory(device, bytes, in_use_before, peak_before));
      }
#else
      require_device(device);
#endif
    }
  } catch (...) {
    unreserve(device, bytes, in_use_before, peak_before);
    throw;
  }
  return ptr;
}

void deallocate(Device device, void* ptr, size_t bytes) {
  if (!ptr) return;
  if (device.is_cpu()) {
    std::free(ptr);
  } else {
#if LAB_HAS_CUDA
    cuda::free(device.index, ptr);
#endif
  }
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.of(device).current -= bytes;
}

MemoryStats memory_stats(Device device) {
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.of(device);
}

void reset_peak_memory(Device device) {
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  MemoryStats& s = a.of(device);
  s.peak = s.current;
}

void set_memory_budget(Device device, size_t bytes) {
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.of(device).budget = bytes;
}

uint64_t add_memory_pressure_handler(Device device, MemoryPressureHandler handler) {
  LAB_CHECK(handler != nullptr, "add_memory_pressure_handler: the handler for {} is empty", device.str());
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.of(device);  // checks the device index
  const uint64_t id = a.next_handler_id++;
  a.handlers.push_back({id, device, std::move(handler)});
  return id;
}

void remove_memory_pressure_handler(uint64_t id) {
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  std::erase_if(a.handlers, [id](const PressureHandler& h) { return h.id == id; });
}

void charge_memory(Device device, size_t bytes) {
  if (bytes == 0) return;
  size_t in_use_before = 0, peak_before = 0;
  reserve(device, bytes, &in_use_before, &peak_before);
}

void uncharge_memory(Device device, size_t bytes) {
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  MemoryStats& s = a.of(device);
  LAB_ASSERT(s.current >= bytes);
  s.current -= bytes;
}

void* allocate_host(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* ptr = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!ptr) throw OutOfMemory(fmt::format("out of memory on the host: the system refused {} for the host pool", format_bytes(bytes)));
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.host.current += bytes;
  a.host.peak = std::max(a.host.peak, a.host.current);
  a.host.allocations += 1;
  return ptr;
}

void deallocate_host(void* ptr, size_t bytes) {
  if (!ptr) return;
  std::free(ptr);
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.host.current -= bytes;
}

MemoryStats host_memory_stats() {
  Accounts& a = accounts();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.host;
}

size_t parse_bytes(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) i++;
  std::string number = text.substr(0, i), unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  double value = 0;
  bool ok = !number.empty() && number.find('.') == number.rfind('.');
  if (ok) value = std::strtod(number.c_str(), nullptr);
  struct Unit { const char* name; double scale; };
  static const Unit units[] = {{"", 1}, {"B", 1}, {"K", 1e3}, {"KB", 1e3}, {"M", 1e6}, {"MB", 1e6}, {"G", 1e9}, {"GB", 1e9},
                               {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}};
  double scale = -1;
  for (const Unit& u : units)
    if (unit == u.name) scale = u.scale;
  LAB_CHECK(ok && scale > 0 && value * scale < 1.8e19, "cannot read '{}' as a size in bytes (examples: 4096, 64MB, 1.5GiB)", text);
  return static_cast<size_t>(std::llround(value * scale));
}

std::string format_bytes(size_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* names[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes) / 1024;
  int i = 0;
  while (v >= 1024 && i < 3) v /= 1024, i++;
  return fmt::format("{:.2f} {}", v, names[i]);
}

}  // namespace lab
