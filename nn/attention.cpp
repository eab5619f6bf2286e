// CausalSelfAttention's constructor and forward (see attention.h).
#include "nn/attention.h"

#include "autograd/ops.h"
#include "nn/linear.h"

#include <cmath>
#include <tuple>

namespace lab::nn {

CausalSelfAttention::CausalSelfAttention(const GPTConfig& config, Generator& gen)
    : n_embd_(config.n_embd), n_head_(config.n_head), attn_pdrop_(config.attn_pdrop), resid_pdrop_(config.resid_pdrop) {
  register_module("c_attn", std::make_shared<Linear>(n_embd_, 3 * n_embd_, gen));
  register_module("c_proj", std::make_shared<Linear>(n_embd_, n_embd_, gen));
}

Tensor CausalSelfAttention::forward(const Tensor& x, Generator& dropout_gen) { return forward(x, dropout_gen, nullptr, 0); }

Tensor CausalSelfAttention::forward(const Tensor& x, Generator& dropout_gen, KVCache* cache, int64_t layer) {
  LAB_CHECK(x.dim() == 3 && x.size(2) == n_embd_, "attention: expected x of shape [B, T, {}], got {}", n_embd_, shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), H = n_head_, hd = n_embd_ / n_head_;
  Tensor qkv = child_as<UnaryModule>("c_attn").forward(x);  // [B, T, 3C]
  std::vector<Tensor> parts = ag::split(qkv, n_embd_, 2);   // Q | K | V, each [B, T, C]
  auto heads = [&](const Tensor& t) { return ag::transpose(ag::reshape(t, {B, T, H, hd}), 1, 2); };  // -> [B, H, T, hd]
  // q is scaled before the product (HF scales the product): the same value, smaller intermediates
  Tensor q = ag::mul(heads(parts[0]), 1.0 / std::sqrt(double(hd)));
  Tensor k = heads(parts[1]), v = heads(parts[2]);
  if (cache != nullptr) std::tie(k, v) = cache->append(layer, k, v);  // [B, H, cached + T, hd]
  // a = causal_softmax(q k^T / sqrt(hd))   [B, H, T, Tk]: query i (position cached + i) sees keys j <= cached + i
  Tensor a = ag::causal_softmax(ag::matmul(q, ag::transpose(k, 2, 3)));
  a = ag::dropout(a, attn_pdrop_, is_training(), dropout_gen);
  // y = a v, heads merged back: [B, H, T, hd] -> [B, T, H, hd] -> [B, T, C]
  Tensor y = ag::reshape(ag::transpose(ag::matmul(a, v), 1, 2), {B, T, n_embd_});
  y = child_as<UnaryModule>("c_proj").forward(y);
  return ag::dropout(y, resid_pdrop_, is_training(), dropout_gen);
}

}  // namespace lab::nn
