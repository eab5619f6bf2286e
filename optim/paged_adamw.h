// Paged optimizers (QLoRA's third idea, bitsandbytes' PagedAdamW / PagedAdamW8bit): the update of
// AdamW (or AdamW8bit), bit for bit, with every per-element state tensor (m, v; or the 8-bit codes
// and absmax) held in pages of a PageManager instead of in tensors. Before a parameter's update its
// pages are brought onto the device one chunk at a time (paging others out, least recently used
// first, if the budget is short); the update runs chunk by chunk on the same kernels as AdamW's,
// which is exact because the rule is elementwise (and, for 8-bit, chunks hold whole blocks).
//
// state_dict() has AdamW's (AdamW8bit's) keys: the pages are copied into ordinary tensors on the CPU,
// where evicted pages live and where a checkpoint is written from: a copy of the whole state on the
// GPU would need the very device memory paging spares (on the CPU build the CPU is the budgeted
// device, so there the copy counts against the budget). load_state_dict takes tensors on any device.
// state(i) holds only the "step" count; the rest is in pager().
// Not here: the pages themselves (page_manager.h), the update arithmetic (adamw.cpp, adamw8bit.cpp).
#pragma once

#include "optim/adamw.h"
#include "optim/adamw8bit.h"
#include "optim/page_manager.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lab {

// The per-element state of an optimizer in pages: one PageManager buffer per (parameter, state name).
class PagedState {
public:
  struct Slot {
    std::string name;  // "exp_avg"
    Shape shape;       // as the tensor it replaces
    DType dtype;
  };
  PagedState(Device device, size_t page_bytes);
  PageManager& pager() { return *pager_; }
  const PageManager& pager() const { return *pager_; }
  bool has(size_t i) const { return buffers_.count(i) != 0; }
  // Parameter i's buffers, created (zeros, on the host) on first use.
  void create(size_t i, const std::vector<Slot>& slots);
  PageManager::BufferId buffer(size_t i, const std::string& name) const;
  // A copy of one state as an ordinary CPU tensor (state_dict).
  Tensor to_tensor(size_t i, const std::string& name) const;
  // Moves every per-element tensor of `state` (one parameter's, as load_state_dict made it) into its
  // pages and removes it from the map, which keeps the counts.
  void absorb(size_t i, std::map<std::string, Tensor>& state);
  void clear();  // every buffer freed (before a load_state_dict)
  size_t bytes() const { return pager_->total_bytes(); }

private:
  Device device_;
  size_t page_bytes_;
  std::unique_ptr<PageManager> pager_;
  std::map<size_t, std::map<std::string, std::pair<PageManager::BufferId, Slot>>> buffers_;
};

class PagedAdamW : public AdamW {
public:
  // Every parameter on one device (the pages' device). page_bytes: a multiple of 64.
  explicit PagedAdamW(std::vector<Tensor> params, AdamWOptions options = {}, size_t page_bytes = kDefaultPageBytes);
  std::string name() const override { return "PagedAdamW"; }
  PageManager& pager() { return paged_.pager(); }
  const PageManager& pager() const { return paged_.pager(); }
  size_t paged_state_bytes() const { return paged_.bytes(); }  // m and v, on the device and on the host
  size_t state_bytes() const override { return Optimizer::state_bytes() + paged_state_bytes(); }  // the step counts + the pages

  NamedTensors state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& tensors, const std::string& source = "load_state_dict") override;

protected:
  void update() override;
  void update_param(size_t i);
  std::map<std::string, std::string> hyperparameters() const override;

private:
  PagedState paged_;
};

class PagedAdamW8bit : public AdamW8bit {
public:
  // page_bytes: a multiple of 64 and of eight.block_size (so that a chunk of codes is whole blocks).
  explicit PagedAdamW8bit(std::vector<Tensor> params, AdamWOptions options = {}, Adam8bitOptions eight = {},
                          size_t page_bytes = kDefaultPageBytes);
  std::string name() const override { return "PagedAdamW8bit"; }
  PageManager& pager() { return paged_.pager(); }
  const PageManager& pager() const { return paged_.pager(); }
  size_t paged_state_bytes() const { return paged_.bytes(); }  // codes, absmax (f32 state of small ones)
  size_t state_bytes() const override { return Optimizer::state_bytes() + paged_state_bytes(); }  // the step counts + the pages

  NamedTensors state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& tensors, const std::string& source = "load_state_dict") override;

protected:
  void update_param(size_t i) override;
  std::map<std::string, std::string> hyperparameters() const override;

private:
  PagedState paged_;
};

}  // namespace lab
