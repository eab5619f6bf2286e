// PageManager: optimizer state in fixed-size pages that live on the device or on the host, moved
// one page at a time, least recently used first, whenever the device's memory budget needs room.
//
//   CPU build:  "device" = the budgeted CPU pool (set_memory_budget(Device::cpu(), ...)), "host" =
//               the unbudgeted host pool (allocate_host); a page moves by an explicit copy.
//   GPU:        every page is one cudaMallocManaged block (cuda/paged.h); bring_in prefetches it to
//               the GPU and charges the budget, a page-out prefetches it back to the host and uncharges.
//
// The pressure always comes from the budget: the manager registers itself with the allocator
// (add_memory_pressure_handler), so any allocation on its device that would pass the budget (its
// own page-ins, or a batch's activations) first pages out unpinned pages. It counts page-ins,
// page-outs, bytes and seconds. Single-threaded, like the training loop that uses it.
// Not here: what the pages hold and how they are updated (optim/paged_adamw.h).
#pragma once

#include "tensor/device.h"

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

namespace lab {

constexpr size_t kDefaultPageBytes = size_t(64) << 10;  // 64 KiB: 16384 f32 values a page

struct PagingStats {
  uint64_t page_ins = 0;            // host -> device
  uint64_t page_outs = 0;           // device -> host
  uint64_t page_outs_for_others = 0;  // of which to make room for some other allocation (activations, ...)
  uint64_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;               // spent moving pages (allocation, copy and free, both ways)
};

class PageManager {
public:
  using BufferId = size_t;

  // device: where pages are used (cpu: the budgeted pool; cuda:i: that GPU). page_bytes: the size of
  // every page (the last page of a buffer may be shorter); a multiple of 64.
  explicit PageManager(Device device, size_t page_bytes = kDefaultPageBytes);
  ~PageManager();  // frees every page and unregisters from the allocator
  PageManager(const PageManager&) = delete;
  PageManager& operator=(const PageManager&) = delete;

  // A new buffer of `bytes` zero bytes in ceil(bytes / page_bytes) pages, all on the host.
  // `name` is for messages ("state.3.exp_avg").
  BufferId create(size_t bytes, const std::string& name);
  size_t buffer_bytes(BufferId id) const;
  size_t buffer_pages(BufferId id) const;
  const std::string& buffer_name(BufferId id) const;

  // Page `page` of buffer `id`, on the device: paged in if it was on the host (which may page out
  // others, least recently used first), marked most recently used, and pinned (never paged out)
  // until unpin_all(). Returns its address on the device; it holds buffer_bytes of that page.
  void* bring_in(BufferId id, size_t page);
  void unpin_all();

  // The whole buffer to / from plain host memory, wherever its pages are, with no page-in or page-out
  // (on a GPU the host reads managed memory directly, which the driver may migrate unseen by the counts).
  void read(BufferId id, void* dst) const;
  void write(BufferId id, const void* src);

  // Pages out unpinned pages, least recently used first, until at least `bytes` are freed on the
  // device or none is left; returns the bytes freed. (The allocator calls this under pressure.)
  size_t page_out(size_t bytes);

  Device device() const { return device_; }
  size_t page_bytes() const { return page_bytes_; }
  size_t pages() const;           // of every buffer
  size_t resident_pages() const;  // on the device now
  size_t resident_bytes() const;
  size_t host_bytes() const;      // on the host now
  size_t total_bytes() const;     // resident + host

  const PagingStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  // "pages in 12 (3.00 MiB), out 12 (3.00 MiB), 4 for other allocations, 1.2 ms; 5 of 20 pages on cpu"
  std::string report() const;

private:
  struct Page {
    size_t bytes = 0;
    void* device = nullptr;   // CPU build: the budgeted copy while resident
    void* host = nullptr;     // CPU build: the host-pool copy while paged out
    void* managed = nullptr;  // GPU: the one managed block, wherever it is
    bool resident = false;
    bool pinned = false;
    std::list<Page*>::iterator lru;  // its place in lru_ while resident
  };
  struct Buffer {
    std::string name;
    size_t bytes = 0;
    std::vector<std::unique_ptr<Page>> pages;
  };

  const Buffer& buffer(BufferId id) const;
  void move_out(Page& page);  // device -> host; the page must be resident and unpinned
  void free_page(Page& page);

  Device device_;
  size_t page_bytes_;
  std::vector<Buffer> buffers_;
  std::list<Page*> lru_;        // resident pages, least recently used first
  std::vector<Page*> pinned_;
  bool paging_in_ = false;      // inside bring_in: a page-out now makes room for our own page-in
  uint64_t handler_id_ = 0;
  PagingStats stats_;
};

}  // namespace lab
