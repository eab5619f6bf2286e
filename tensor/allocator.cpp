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

struct Accounts {
  std::mutex mutex;
  MemoryStats cpu;
  MemoryStats gpu[kMaxGpus];
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

}  // namespace

void* allocate(Device device, size_t bytes) {
  if (bytes == 0) return nullptr;
  Accounts& a = accounts();
  size_t in_use_before = 0, peak_before = 0;  // to undo the accounting if the system refuses
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    MemoryStats& s = a.of(device);
    in_use_before = s.current, peak_before = s.peak;
    if (s.budget != 0 && (bytes > s.budget || s.current > s.budget - bytes)) {
      throw OutOfMemory(fmt::format("out of memory on {}: asked for {}, {} in use, budget {} (HINT: raise --mem-budget, or use a smaller model or batch)",
                                    device.str(), format_bytes(bytes), format_bytes(s.current), format_bytes(s.budget)));
    }
    s.current += bytes;
    s.peak = std::max(s.peak, s.current);
    s.allocations += 1;
  }
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
    // A refused request leaves no trace: neither in current nor in peak (unless others raised it meanwhile).
    std::lock_guard<std::mutex> lock(a.mutex);
    MemoryStats& s = a.of(device);
    s.current -= bytes;
    if (s.peak == in_use_before + bytes) s.peak = std::max(peak_before, s.current);
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
