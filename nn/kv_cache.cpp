// KVCache: preallocated per-layer keys and values (see kv_cache.h).
#include "nn/kv_cache.h"

#include "tensor/error.h"

namespace lab::nn {

KVCache::KVCache(int64_t layers, int64_t batch, int64_t kv_heads, int64_t capacity, int64_t head_dim, Device device) : capacity_(capacity) {
  LAB_CHECK(layers > 0 && batch > 0 && kv_heads > 0 && capacity > 0 && head_dim > 0,
            "KVCache: layers {}, batch {}, kv_heads {}, capacity {}, head_dim {} must all be positive", layers, batch, kv_heads, capacity,
            head_dim);
  for (int64_t l = 0; l < layers; l++) {
    k_.push_back(Tensor::empty({batch, kv_heads, capacity, head_dim}, DType::f32, device));
    v_.push_back(Tensor::empty({batch, kv_heads, capacity, head_dim}, DType::f32, device));
  }
}

size_t KVCache::bytes() const {
  size_t n = 0;
  for (size_t l = 0; l < k_.size(); l++) n += k_[l].nbytes() + v_[l].nbytes();
  return n;
}

std::pair<Tensor, Tensor> KVCache::append(int64_t layer, const Tensor& k, const Tensor& v) {
  LAB_CHECK(layer >= 0 && layer < layers(), "KVCache::append: layer {} of a cache of {} layers", layer, layers());
  const Tensor& K = k_[size_t(layer)];
  LAB_CHECK(k.dim() == 4 && k.shape() == v.shape() && k.size(0) == K.size(0) && k.size(1) == K.size(1) && k.size(3) == K.size(3),
            "KVCache::append: k {} and v {} must both be [B, Hkv, Tn, hd] = [{}, {}, Tn, {}]", shape_str(k.shape()), shape_str(v.shape()),
            K.size(0), K.size(1), K.size(3));
  const int64_t end = length_ + k.size(2);
  LAB_CHECK(end <= capacity_, "KVCache::append: {} cached + {} new positions pass the capacity of {} (HINT: start a new cache from the last window)",
            length_, k.size(2), capacity_);
  K.slice(2, length_, end).copy_(k);
  v_[size_t(layer)].slice(2, length_, end).copy_(v);
  return {K.slice(2, 0, end), v_[size_t(layer)].slice(2, 0, end)};
}

void KVCache::advance(int64_t n) {
  LAB_CHECK(n >= 0 && length_ + n <= capacity_, "KVCache::advance: {} + {} positions pass the capacity of {}", length_, n, capacity_);
  length_ += n;
}

}  // namespace lab::nn
