// PagedAdamW and PagedAdamW8bit (paged_adamw.h): the state in pages, the chunked update, and the
// state_dict form that is AdamW's (AdamW8bit's).
//   chunk k of a parameter = elements [k E, k E + E), E = what one page of its state holds
//   (f32 m and v: page_bytes / 4; 8-bit codes: page_bytes, whose absmax, E / block_size floats, lie
//   inside one page of the absmax buffer); the rule is elementwise (8-bit: blockwise), so updating
//   chunk by chunk gives AdamW's result bit for bit.
// Not here: moving pages (page_manager.cpp), the arithmetic (adamw_step_ref, adamw8bit_step_ref).
#include "optim/paged_adamw.h"

#include "autograd/autograd.h"
#include "tensor/factory.h"

#if LAB_HAS_CUDA
#include "cuda/runtime.h"
#endif

#include <algorithm>
#include <cstring>

namespace lab {

namespace {

Device device_of(const std::vector<Tensor>& params, const char* optimizer) {
  const Device d = params.at(0).device();
  for (size_t i = 0; i < params.size(); i++)
    LAB_CHECK(params[i].device() == d, "{}: parameter {} ({}) is on {}, parameter 0 on {}; one page manager serves one device "
              "(HINT: move the model to one device first)", optimizer, i, ag::name_of(params[i]), params[i].device().str(), d.str());
  return d;
}

// The step count of parameter i (an i64 [] on the CPU, as AdamW keeps it), created on first use.
int64_t& step_count(std::map<std::string, Tensor>& state) {
  auto it = state.find("step");
  if (it == state.end()) it = state.emplace("step", scalar(0, DType::i64)).first;
  return it->second.data<int64_t>()[0];
}

// The f32/f64 update of parameter i chunk by chunk, m and v in buffers `m_id` and `v_id`.
void paged_adamw_param(PageManager& pager, const Tensor& p, const Tensor& g, PageManager::BufferId m_id, PageManager::BufferId v_id,
                       const cuda::AdamWCoefficients& c) {
  const int64_t n = p.numel(), chunk = int64_t(pager.page_bytes() / p.element_size());
  for (size_t k = 0; k < pager.buffer_pages(m_id); k++) {
    const int64_t first = int64_t(k) * chunk;
    void* m = pager.bring_in(m_id, k);
    void* v = pager.bring_in(v_id, k);
    adamw_step(p, g, first, std::min(chunk, n - first), m, v, c);
    pager.unpin_all();
  }
}

// Unpins whatever the update had pinned when it leaves, normally or by an exception.
struct UnpinOnExit {
  PageManager& pager;
  ~UnpinOnExit() { pager.unpin_all(); }
};

// state.<i>.<name> for every parameter with state: the counts from `state`, the rest from the pages, in
// the order Optimizer::state_dict() gives (by parameter, then by name).
NamedTensors paged_state_dict(int64_t steps, const std::vector<std::map<std::string, Tensor>>& state,
                              const PagedState& paged, const std::vector<std::vector<std::string>>& names) {
  NamedTensors out = {{"step", scalar(double(steps), DType::i64)}};
  for (size_t i = 0; i < state.size(); i++) {
    if (state[i].empty()) continue;
    std::map<std::string, Tensor> all = state[i];
    for (const std::string& name : names[i]) all[name] = paged.to_tensor(i, name);
    for (const auto& [name, t] : all) out.emplace_back(fmt::format("state.{}.{}", i, name), t);
  }
  return out;
}

}  // namespace

// --- PagedState ---

PagedState::PagedState(Device device, size_t page_bytes)
    : device_(device), page_bytes_(page_bytes), pager_(std::make_unique<PageManager>(device, page_bytes)) {}

void PagedState::create(size_t i, const std::vector<Slot>& slots) {
  if (has(i)) return;
  auto& mine = buffers_[i];
  for (const Slot& s : slots) {
    const size_t bytes = size_t(numel(s.shape)) * dtype_size(s.dtype);
    mine.emplace(s.name, std::make_pair(pager_->create(bytes, fmt::format("state.{}.{}", i, s.name)), s));
  }
}

PageManager::BufferId PagedState::buffer(size_t i, const std::string& name) const { return buffers_.at(i).at(name).first; }

Tensor PagedState::to_tensor(size_t i, const std::string& name) const {
  const auto& [id, slot] = buffers_.at(i).at(name);
  Tensor t = Tensor::empty(slot.shape, slot.dtype, Device::cpu());
  pager_->read(id, t.raw_data());
  return t;
}

void PagedState::absorb(size_t i, std::map<std::string, Tensor>& state) {
  std::vector<Slot> slots;
  for (const auto& [name, t] : state)
    if (name != "step") slots.push_back({name, t.shape(), t.dtype()});
  create(i, slots);
  for (const Slot& s : slots) {
    const Tensor host = state.at(s.name).to(Device::cpu()).contiguous();
    pager_->write(buffer(i, s.name), host.raw_data());
    state.erase(s.name);
  }
}

void PagedState::clear() {
  buffers_.clear();
  pager_.reset();  // the old pages go back before the new manager registers (its counts start again)
  pager_ = std::make_unique<PageManager>(device_, page_bytes_);
}

// --- PagedAdamW ---

PagedAdamW::PagedAdamW(std::vector<Tensor> params, AdamWOptions options, size_t page_bytes)
    : AdamW(std::move(params), options), paged_(device_of(params_, "PagedAdamW"), page_bytes) {
  LAB_CHECK(page_bytes % 8 == 0, "PagedAdamW: page size {} bytes must hold whole f32 and f64 values", page_bytes);
}

std::map<std::string, std::string> PagedAdamW::hyperparameters() const {
  std::map<std::string, std::string> h = AdamW::hyperparameters();
  h["page_bytes"] = fmt::format("{}", pager().page_bytes());
  return h;
}

void PagedAdamW::update() {
  for (size_t i = 0; i < params_.size(); i++)
    if (has_update(i)) update_param(i);
}

void PagedAdamW::update_param(size_t i) {
  const Tensor& p = params_[i];
  const Tensor g = ag::grad(p).contiguous();
  int64_t& step = step_count(state_[i]);  // the parameter's own count, on the CPU
  paged_.create(i, {{"exp_avg", p.shape(), p.dtype()}, {"exp_avg_sq", p.shape(), p.dtype()}});
  step += 1;
  const cuda::AdamWCoefficients c = adamw_coefficients(options(), step);
#if LAB_HAS_CUDA
  if (p.device().is_cuda()) cuda::set_device(p.device().index);
#endif
  UnpinOnExit unpin{pager()};
  paged_adamw_param(pager(), p, g, paged_.buffer(i, "exp_avg"), paged_.buffer(i, "exp_avg_sq"), c);
}

NamedTensors PagedAdamW::state_dict() const {
  std::vector<std::vector<std::string>> names(params_.size());
  for (size_t i = 0; i < params_.size(); i++)
    if (paged_.has(i)) names[i] = {"exp_avg", "exp_avg_sq"};
  return paged_state_dict(steps_, state_, paged_, names);
}

void PagedAdamW::load_state_dict(const std::map<std::string, Tensor>& tensors, const std::string& source) {
  AdamW::load_state_dict(tensors, source);  // checks everything, then fills state_ with tensors
  paged_.clear();
  for (size_t i = 0; i < params_.size(); i++)
    if (!state_[i].empty()) paged_.absorb(i, state_[i]);
}

// --- PagedAdamW8bit ---

PagedAdamW8bit::PagedAdamW8bit(std::vector<Tensor> params, AdamWOptions options, Adam8bitOptions eight, size_t page_bytes)
    : AdamW8bit(std::move(params), options, eight), paged_(device_of(params_, "PagedAdamW8bit"), page_bytes) {
  LAB_CHECK(page_bytes % 8 == 0 && page_bytes % size_t(eight.block_size) == 0 && eight.block_size % 4 == 0,
            "PagedAdamW8bit: page size {} bytes must be a multiple of 8 and of the block size {}, itself a multiple of 4, so that a "
            "page of codes holds whole blocks (HINT: the defaults, 65536 and 256)", page_bytes, eight.block_size);
}

std::map<std::string, std::string> PagedAdamW8bit::hyperparameters() const {
  std::map<std::string, std::string> h = AdamW8bit::hyperparameters();
  h["page_bytes"] = fmt::format("{}", pager().page_bytes());
  return h;
}

void PagedAdamW8bit::update_param(size_t i) {
  const Tensor& p = params_[i];
  const Tensor g = ag::grad(p).contiguous();
  int64_t& step = step_count(state_[i]);
  const int64_t n = p.numel(), bs = eight_.block_size;
  if (!is_8bit(i)) {
    paged_.create(i, {{"state1", p.shape(), p.dtype()}, {"state2", p.shape(), p.dtype()}});
  } else {
    const Shape blocks = {(n + bs - 1) / bs};
    paged_.create(i, {{"state1", p.shape(), DType::u8}, {"state2", p.shape(), DType::u8}, {"absmax1", blocks, DType::f32},
                      {"absmax2", blocks, DType::f32}});
  }
  step += 1;
  const cuda::AdamWCoefficients c = adamw_coefficients(options_, step);
#if LAB_HAS_CUDA
  if (p.device().is_cuda()) cuda::set_device(p.device().index);
#endif
  PageManager& pager = paged_.pager();
  UnpinOnExit unpin{pager};
  if (!is_8bit(i)) {  // f32 state: AdamW's rule, as AdamW8bit does for small parameters
    paged_adamw_param(pager, p, g, paged_.buffer(i, "state1"), paged_.buffer(i, "state2"), c);
    return;
  }
  const PageManager::BufferId c1 = paged_.buffer(i, "state1"), c2 = paged_.buffer(i, "state2");
  const PageManager::BufferId a1 = paged_.buffer(i, "absmax1"), a2 = paged_.buffer(i, "absmax2");
  const int64_t chunk = int64_t(pager.page_bytes());  // u8 codes: one page of each holds `chunk` elements
  for (size_t k = 0; k < pager.buffer_pages(c1); k++) {
    const int64_t first = int64_t(k) * chunk, count = std::min(chunk, n - first);
    // the chunk's absmax: floats [first / bs, ...), at this byte of the absmax buffer, inside one page
    const size_t at = size_t(first / bs) * sizeof(float);
    const size_t page = at / pager.page_bytes(), offset = at % pager.page_bytes();
    uint8_t* code1 = static_cast<uint8_t*>(pager.bring_in(c1, k));
    uint8_t* code2 = static_cast<uint8_t*>(pager.bring_in(c2, k));
    float* absmax1 = reinterpret_cast<float*>(static_cast<char*>(pager.bring_in(a1, page)) + offset);
    float* absmax2 = reinterpret_cast<float*>(static_cast<char*>(pager.bring_in(a2, page)) + offset);
    if (p.device().is_cuda()) {
#if LAB_HAS_CUDA
      static const cuda::DynamicMaps8bit maps = [] {
        cuda::DynamicMaps8bit out{};
        std::memcpy(out.m, adam8bit_map_m().data(), sizeof(out.m));
        std::memcpy(out.v, adam8bit_map_v().data(), sizeof(out.v));
        return out;
      }();
      cuda::adamw8bit_step_f32(p.data<float>() + first, g.data<float>() + first, code1, code2, absmax1, absmax2, count, bs, c, maps);
#endif
    } else {
      adamw8bit_step_ref(p.data<float>() + first, g.data<float>() + first, code1, code2, absmax1, absmax2, count, bs, c);
    }
    pager.unpin_all();
  }
}

NamedTensors PagedAdamW8bit::state_dict() const {
  std::vector<std::vector<std::string>> names(params_.size());
  for (size_t i = 0; i < params_.size(); i++)
    if (paged_.has(i)) names[i] = is_8bit(i) ? std::vector<std::string>{"absmax1", "absmax2", "state1", "state2"}
                                             : std::vector<std::string>{"state1", "state2"};
  return paged_state_dict(steps_, state_, paged_, names);
}

void PagedAdamW8bit::load_state_dict(const std::map<std::string, Tensor>& tensors, const std::string& source) {
  AdamW8bit::load_state_dict(tensors, source);
  paged_.clear();
  for (size_t i = 0; i < params_.size(); i++)
    if (!state_[i].empty()) paged_.absorb(i, state_[i]);
}

}  // namespace lab
