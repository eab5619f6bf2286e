// GPT-2: the transformer block, the model's constructor (HF's init), forward and loss (see gpt.h).
#include "nn/gpt.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/layer_norm.h"
#include "nn/mlp.h"
#include "tensor/factory.h"

#include <cmath>

namespace lab::nn {

namespace {

// One pre-LayerNorm block: x = x + attn(ln_1(x)); x = x + dropout(mlp(ln_2(x))).
class Block : public Module {
public:
  Block(const GPTConfig& c, Generator& gen) : resid_pdrop_(c.resid_pdrop) {
    ln_1_ = register_module("ln_1", std::make_shared<LayerNorm>(c.n_embd, c.layer_norm_epsilon));
    attn_ = register_module("attn", std::make_shared<CausalSelfAttention>(c, gen));
    ln_2_ = register_module("ln_2", std::make_shared<LayerNorm>(c.n_embd, c.layer_norm_epsilon));
    register_module("mlp", std::make_shared<MLP>(c.n_embd, c.inner(), c.n_embd, gen));
  }
  Tensor forward(const Tensor& x, Generator& dropout_gen, KVCache* cache, int64_t layer) {
    Tensor h = ag::add(x, attn_->forward(ln_1_->forward(x), dropout_gen, cache, layer));
    Tensor m = child_as<UnaryModule>("mlp").forward(ln_2_->forward(h));  // c_proj(gelu(c_fc(.)))
    return ag::add(h, ag::dropout(m, resid_pdrop_, is_training(), dropout_gen));
  }

private:
  double resid_pdrop_;
  std::shared_ptr<LayerNorm> ln_1_, ln_2_;
  std::shared_ptr<CausalSelfAttention> attn_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

GPT::GPT(const GPTConfig& config, Generator& gen) : config_(config) {
  config_.validate("GPT");
  register_module("wte", std::make_shared<Embedding>(config_.vocab_size, config_.n_embd, gen));
  register_module("wpe", std::make_shared<Embedding>(config_.n_positions, config_.n_embd, gen));
  auto h = register_module("h", std::make_shared<Module>());
  for (int64_t i = 0; i < config_.n_layer; i++) h->register_module(std::to_string(i), std::make_shared<Block>(config_, gen));
  register_module("ln_f", std::make_shared<LayerNorm>(config_.n_embd, config_.layer_norm_epsilon));
  name_parameters();

  // HF's GPT2PreTrainedModel._init_weights, then its c_proj rule (GPT-2 paper sec. 2.3: scale the
  // residual projections by 1/sqrt(N), N = 2 n_layer residual additions)
  const double std = config_.initializer_range, proj_std = std / std::sqrt(2.0 * double(config_.n_layer));
  for (auto& [name, p] : named_parameters()) {
    if (ends_with(name, ".bias")) init::zeros_(p);
    else if (name.find("ln_") != std::string::npos) init::ones_(p);
    else if (ends_with(name, "c_proj.weight")) init::normal_(p, 0.0, proj_std, gen);
    else init::normal_(p, 0.0, std, gen);
  }
  dropout_gen_ = Generator(gen.next_u32());
}

Tensor GPT::forward(const Tensor& ids) { return run(ids, nullptr); }

Tensor GPT::forward(const Tensor& ids, KVCache& cache) {
  LAB_CHECK(!ag::grad_enabled(), "GPT::forward with a KV cache records no graph (HINT: wrap the call in ag::NoGradGuard)");
  LAB_CHECK(cache.layers() == config_.n_layer, "GPT::forward: a KV cache of {} layers for a model of {}", cache.layers(), config_.n_layer);
  return run(ids, &cache);
}

KVCache GPT::make_kv_cache(int64_t batch) const {
  return KVCache(config_.n_layer, batch, config_.n_head, config_.n_positions, config_.head_dim(), device());
}

std::string GPT::summary() const {
  const GPTConfig& c = config_;
  return fmt::format("gpt2: {} layers, {} heads, {} wide, MLP {}, context {}, vocab {}, head tied to wte", c.n_layer, c.n_head, c.n_embd,
                     c.inner(), c.n_positions, c.vocab_size);
}

std::string GPT::config_json() const { return gpt_config_json(config_); }

Tensor GPT::run(const Tensor& ids, KVCache* cache) {
  const GPTConfig& c = config_;
  LAB_CHECK(ids.dim() == 2 && (ids.dtype() == DType::i64 || ids.dtype() == DType::i32),
            "GPT: expected token ids of shape [B, T] and dtype i64, got shape {} and dtype {}", shape_str(ids.shape()),
            dtype_name(ids.dtype()));
  const int64_t B = ids.size(0), T = ids.size(1), start = cache != nullptr ? cache->length() : 0;
  LAB_CHECK(B >= 1 && T >= 1 && start + T <= c.n_positions,
            "GPT: ids of shape {} has T = {}{}, the model's context is 1 to {} tokens (n_positions) (HINT: feed the last {} tokens)",
            shape_str(ids.shape()), T, start > 0 ? fmt::format(" after {} cached positions", start) : std::string(), c.n_positions,
            c.n_positions);
  std::vector<int64_t> values = ids.to_vector<int64_t>();
  for (size_t i = 0; i < values.size(); i++)
    LAB_CHECK(values[i] >= 0 && values[i] < c.vocab_size, "GPT: token id {} at [{}, {}] is outside the vocabulary [0, {})", values[i],
              int64_t(i) / T, int64_t(i) % T, c.vocab_size);

  Tensor& wte = parameter("wte.weight");  // [V, C]
  Tensor positions = arange(double(start), double(start + T), 1, DType::i64, wte.device());
  // x = wte[ids] + wpe[start..start+T)   [B, T, C] + [T, C]
  Tensor x = ag::add(child_as<UnaryModule>("wte").forward(ids.to(wte.device())), child_as<UnaryModule>("wpe").forward(positions));
  x = ag::dropout(x, c.embd_pdrop, is_training(), dropout_gen_);
  Module& h = *child("h");
  for (int64_t i = 0; i < c.n_layer; i++) x = h.child_as<Block>(std::to_string(i)).forward(x, dropout_gen_, cache, i);
  if (cache != nullptr) cache->advance(T);
  x = child_as<UnaryModule>("ln_f").forward(x);
  // logits = x wte^T   [B, T, C] @ [C, V]: the LM head shares wte's storage and gradient
  return ag::matmul(x, ag::transpose(wte, 0, 1));
}

Tensor GPT::loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index) {
  LAB_CHECK(targets.shape() == ids.shape(), "GPT::loss: targets of shape {} do not match ids of shape {}", shape_str(targets.shape()),
            shape_str(ids.shape()));
  LAB_CHECK(targets.dtype() == DType::i64, "GPT::loss: targets must be i64, got {}", dtype_name(targets.dtype()));
  Tensor logits = forward(ids);
  const int64_t V = config_.vocab_size;
  return ag::cross_entropy(ag::reshape(logits, {ids.numel(), V}), targets.reshape({ids.numel()}).to(logits.device()), ignore_index);
}

}  // namespace lab::nn
