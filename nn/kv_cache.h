// KVCache: the keys and values of the positions a model has already read, kept per layer so that
// generating token t+1 runs the model on that one token instead of re-reading all t before it.
//
//   layer l:  K, V [B, Hkv, capacity, hd]   positions [0, length) filled
//   step:     each layer appends its new k, v [B, Hkv, Tn, hd] at [length, length + Tn) and attends
//             over [0, length + Tn); then advance(Tn)
//
// Without a cache each new token costs a forward over the whole window (O(T) tokens, O(T^2)
// attention); with it, one token (and O(T) attention). Storage is allocated once, at capacity.
// Not here: paging, eviction or sliding windows (when full, sample.cpp starts over from the window).
// Next: sample.h (the loop that uses it), causal_lm.h (forward(ids, cache)).
#pragma once

#include "tensor/device.h"
#include "tensor/tensor.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace lab::nn {

class KVCache {
public:
  KVCache() = default;
  KVCache(int64_t layers, int64_t batch, int64_t kv_heads, int64_t capacity, int64_t head_dim, Device device = Device::cpu());

  int64_t layers() const { return int64_t(k_.size()); }
  int64_t length() const { return length_; }      // positions filled in every layer
  int64_t capacity() const { return capacity_; }
  size_t bytes() const;                            // of K and V, all layers

  // Writes k, v [B, Hkv, Tn, hd] at positions [length, length + Tn) of `layer` and returns views of
  // that layer's keys and values over [0, length + Tn). An error when it would pass the capacity.
  std::pair<Tensor, Tensor> append(int64_t layer, const Tensor& k, const Tensor& v);
  void advance(int64_t n);  // after every layer appended n positions
  void clear() { length_ = 0; }

private:
  std::vector<Tensor> k_, v_;
  int64_t length_ = 0, capacity_ = 0;
};

}  // namespace lab::nn
