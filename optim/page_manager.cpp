// The page manager of page_manager.h: pages, their LRU list, the moves between device and host,
// and the pressure handler the allocator calls when the budget is short.
//   page-in  (CPU): allocate(cpu) [may page out others] -> memcpy host -> device -> deallocate_host
//   page-in  (GPU): charge_memory(cuda) [may page out others] -> cudaMemPrefetchAsync to the GPU
//   page-out (CPU): allocate_host -> memcpy device -> host -> deallocate(cpu)
//   page-out (GPU): cudaMemPrefetchAsync to the host -> uncharge_memory(cuda)
// Not here: the optimizer that reads and writes the pages (paged_adamw.cpp).
#include "optim/page_manager.h"

#include "tensor/allocator.h"
#include "tensor/error.h"

#if LAB_HAS_CUDA
#include "cuda/paged.h"
#include "cuda/runtime.h"
#endif

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace lab {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

PageManager::PageManager(Device device, size_t page_bytes) : device_(device), page_bytes_(page_bytes) {
  LAB_CHECK(page_bytes >= 64 && page_bytes % 64 == 0,
            "PageManager: page size {} bytes is not a positive multiple of 64 (HINT: e.g. 65536, the default)", page_bytes);
  require_device(device);  // a GPU that is not there (or a build without CUDA) is an error naming why
  handler_id_ = add_memory_pressure_handler(device_, [this](size_t needed) { return page_out(needed); });
}

PageManager::~PageManager() {
  remove_memory_pressure_handler(handler_id_);
  for (Buffer& b : buffers_)
    for (std::unique_ptr<Page>& p : b.pages) free_page(*p);
}

void PageManager::free_page(Page& p) {
  if (device_.is_cpu()) {
    if (p.resident) deallocate(device_, p.device, p.bytes);
    deallocate_host(p.host, p.bytes);
  } else {
#if LAB_HAS_CUDA
    if (p.resident) uncharge_memory(device_, p.bytes);
    cuda::free_managed(p.managed);
#endif
  }
  p.device = p.host = p.managed = nullptr;
  p.resident = false;
}

PageManager::BufferId PageManager::create(size_t bytes, const std::string& name) {
  Buffer b;
  b.name = name;
  b.bytes = bytes;
  for (size_t at = 0; at < bytes; at += page_bytes_) {
    auto p = std::make_unique<Page>();
    p->bytes = std::min(page_bytes_, bytes - at);
    if (device_.is_cpu()) {
      p->host = allocate_host(p->bytes);
      std::memset(p->host, 0, p->bytes);
    } else {
#if LAB_HAS_CUDA
      p->managed = cuda::malloc_managed(device_.index, p->bytes);  // zeros, on the host
#endif
    }
    b.pages.push_back(std::move(p));
  }
  buffers_.push_back(std::move(b));
  return buffers_.size() - 1;
}

const PageManager::Buffer& PageManager::buffer(BufferId id) const {
  LAB_CHECK(id < buffers_.size(), "PageManager: no buffer {} ({} buffers)", id, buffers_.size());
  return buffers_[id];
}

size_t PageManager::buffer_bytes(BufferId id) const { return buffer(id).bytes; }
size_t PageManager::buffer_pages(BufferId id) const { return buffer(id).pages.size(); }
const std::string& PageManager::buffer_name(BufferId id) const { return buffer(id).name; }

void* PageManager::bring_in(BufferId id, size_t page) {
  const Buffer& b = buffer(id);
  LAB_CHECK(page < b.pages.size(), "PageManager: page {} of {} is out of range ({} pages)", page, b.name, b.pages.size());
  Page& p = *b.pages[page];
  if (p.resident) {
    lru_.splice(lru_.end(), lru_, p.lru);  // most recently used now
  } else {
    const Clock::time_point start = Clock::now();
    paging_in_ = true;
    try {
      if (device_.is_cpu()) {
        p.device = allocate(device_, p.bytes);  // under pressure the allocator calls page_out() first
        std::memcpy(p.device, p.host, p.bytes);
        deallocate_host(p.host, p.bytes);
        p.host = nullptr;
      } else {
#if LAB_HAS_CUDA
        charge_memory(device_, p.bytes);
        cuda::prefetch_to_device(p.managed, p.bytes, device_.index);
#endif
      }
    } catch (...) {
      paging_in_ = false;
      throw;
    }
    paging_in_ = false;
    p.resident = true;
    p.lru = lru_.insert(lru_.end(), &p);
    stats_.page_ins += 1;
    stats_.bytes_in += p.bytes;
    stats_.seconds += seconds_since(start);
  }
  if (!p.pinned) {
    p.pinned = true;
    pinned_.push_back(&p);
  }
  return device_.is_cpu() ? p.device : p.managed;
}

void PageManager::unpin_all() {
  for (Page* p : pinned_) p->pinned = false;
  pinned_.clear();
}

void PageManager::move_out(Page& p) {
  const Clock::time_point start = Clock::now();
  if (device_.is_cpu()) {
    // The host pool is outside the budget: this allocation never calls a pressure handler.
    p.host = allocate_host(p.bytes);
    std::memcpy(p.host, p.device, p.bytes);
    deallocate(device_, p.device, p.bytes);
    p.device = nullptr;
  } else {
#if LAB_HAS_CUDA
    cuda::prefetch_to_host(p.managed, p.bytes);
    uncharge_memory(device_, p.bytes);
#endif
  }
  lru_.erase(p.lru);
  p.resident = false;
  stats_.page_outs += 1;
  stats_.page_outs_for_others += paging_in_ ? 0 : 1;
  stats_.bytes_out += p.bytes;
  stats_.seconds += seconds_since(start);
}

size_t PageManager::page_out(size_t bytes) {
  size_t freed = 0;
  for (auto it = lru_.begin(); it != lru_.end() && freed < bytes;) {
    Page& p = **it;
    ++it;  // move_out erases p from the list
    if (p.pinned) continue;
    freed += p.bytes;
    move_out(p);
  }
  return freed;
}

void PageManager::read(BufferId id, void* dst) const {
  const Buffer& b = buffer(id);
#if LAB_HAS_CUDA
  if (device_.is_cuda()) cuda::synchronize();  // the last update of these pages may still run
#endif
  char* out = static_cast<char*>(dst);
  for (const std::unique_ptr<Page>& p : b.pages) {
    if (device_.is_cpu()) {
      std::memcpy(out, p->resident ? p->device : p->host, p->bytes);
    } else {
      std::memcpy(out, p->managed, p->bytes);  // managed memory is readable from the host once the GPU is idle
    }
    out += p->bytes;
  }
}

void PageManager::write(BufferId id, const void* src) {
  const Buffer& b = buffer(id);
#if LAB_HAS_CUDA
  if (device_.is_cuda()) cuda::synchronize();
#endif
  const char* in = static_cast<const char*>(src);
  for (const std::unique_ptr<Page>& p : b.pages) {
    if (device_.is_cpu()) {
      std::memcpy(p->resident ? p->device : p->host, in, p->bytes);
    } else {
      std::memcpy(p->managed, in, p->bytes);
    }
    in += p->bytes;
  }
}

size_t PageManager::pages() const {
  size_t n = 0;
  for (const Buffer& b : buffers_) n += b.pages.size();
  return n;
}

size_t PageManager::resident_pages() const { return lru_.size(); }

size_t PageManager::resident_bytes() const {
  size_t n = 0;
  for (const Page* p : lru_) n += p->bytes;
  return n;
}

size_t PageManager::total_bytes() const {
  size_t n = 0;
  for (const Buffer& b : buffers_) n += b.bytes;
  return n;
}

size_t PageManager::host_bytes() const { return total_bytes() - resident_bytes(); }

std::string PageManager::report() const {
  const PagingStats& s = stats_;
  return fmt::format("pages in {} ({}), out {} ({}), {} of them for other allocations, {:.2f} ms; {} of {} pages ({} of {}) on {}",
                     s.page_ins, format_bytes(s.bytes_in), s.page_outs, format_bytes(s.bytes_out), s.page_outs_for_others,
                     1e3 * s.seconds, resident_pages(), pages(), format_bytes(resident_bytes()), format_bytes(total_bytes()),
                     device_.str());
}

}  // namespace lab
