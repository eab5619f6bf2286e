// Llama: attention with rotary embeddings and grouped-query heads, the SwiGLU MLP, the decoder layer,
// the model's constructor and forward (see llama.h).
#include "nn/llama.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/rms_norm.h"
#include "nn/rope.h"
#include "tensor/factory.h"

#include <cmath>
#include <tuple>

namespace lab::nn {

namespace {

// q_proj, k_proj, v_proj, o_proj: causal attention of H query heads over Hkv shared key/value heads.
class LlamaAttention : public Module {
public:
  LlamaAttention(const LlamaConfig& c, Generator& gen) : H_(c.num_attention_heads), Hkv_(c.num_key_value_heads), hd_(c.hd()) {
    register_module("q_proj", std::make_shared<Linear>(c.hidden_size, H_ * hd_, gen, false));
    register_module("k_proj", std::make_shared<Linear>(c.hidden_size, Hkv_ * hd_, gen, false));
    register_module("v_proj", std::make_shared<Linear>(c.hidden_size, Hkv_ * hd_, gen, false));
    register_module("o_proj", std::make_shared<Linear>(H_ * hd_, c.hidden_size, gen, false));
  }

  // x [B, T, C] -> [B, T, C]; rope holds the tables of this call's positions; with a cache, this layer's
  // keys and values join those of the earlier positions.
  Tensor forward(const Tensor& x, const RotaryTables& rope, KVCache* cache, int64_t layer) {
    const int64_t B = x.size(0), T = x.size(1), G = H_ / Hkv_;
    auto heads = [&](const char* proj, int64_t n) {  // [B, T, n hd] -> [B, n, T, hd]
      return ag::transpose(ag::reshape(child_as<UnaryModule>(proj).forward(x), {B, T, n, hd_}), 1, 2);
    };
    Tensor q = apply_rotary(heads("q_proj", H_), rope);
    Tensor k = apply_rotary(heads("k_proj", Hkv_), rope);
    Tensor v = heads("v_proj", Hkv_);
    if (cache != nullptr) std::tie(k, v) = cache->append(layer, k, v);  // [B, Hkv, Tk, hd], Tk = cached + T
    const int64_t Tk = k.size(2);
    // GQA: query heads grouped by their kv head, [B, Hkv, G, T, hd]; k and v broadcast over G as [B, Hkv, 1, Tk, hd]
    q = ag::mul(ag::reshape(q, {B, Hkv_, G, T, hd_}), 1.0 / std::sqrt(double(hd_)));
    k = ag::reshape(k, {B, Hkv_, 1, Tk, hd_});
    v = ag::reshape(v, {B, Hkv_, 1, Tk, hd_});
    // a = causal_softmax(q k^T / sqrt(hd))   [B, Hkv, G, T, Tk]: query i (position cached + i) sees keys j <= cached + i
    Tensor a = ag::causal_softmax(ag::matmul(q, ag::transpose(k, 3, 4)));
    // y = a v, heads back in HF's order h = kv * G + g: [B, H, T, hd] -> [B, T, H hd]
    Tensor y = ag::reshape(ag::matmul(a, v), {B, H_, T, hd_});
    y = ag::reshape(ag::transpose(y, 1, 2), {B, T, H_ * hd_});
    return child_as<UnaryModule>("o_proj").forward(y);
  }

private:
  int64_t H_, Hkv_, hd_;
};

// gate_proj, up_proj, down_proj: y = down(silu(gate(x)) * up(x))   (Shazeer 2020, SwiGLU)
class LlamaMLP : public UnaryModule {
public:
  LlamaMLP(const LlamaConfig& c, Generator& gen) {
    register_module("gate_proj", std::make_shared<Linear>(c.hidden_size, c.intermediate_size, gen, false));
    register_module("up_proj", std::make_shared<Linear>(c.hidden_size, c.intermediate_size, gen, false));
    register_module("down_proj", std::make_shared<Linear>(c.intermediate_size, c.hidden_size, gen, false));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = ag::mul(ag::silu(child_as<UnaryModule>("gate_proj").forward(x)), child_as<UnaryModule>("up_proj").forward(x));
    return child_as<UnaryModule>("down_proj").forward(h);
  }
};

// One pre-norm decoder layer: x = x + self_attn(input_layernorm(x)); x = x + mlp(post_attention_layernorm(x)).
class LlamaDecoderLayer : public Module {
public:
  LlamaDecoderLayer(const LlamaConfig& c, Generator& gen) {
    register_module("self_attn", std::make_shared<LlamaAttention>(c, gen));
    register_module("mlp", std::make_shared<LlamaMLP>(c, gen));
    register_module("input_layernorm", std::make_shared<RMSNorm>(c.hidden_size, c.rms_norm_eps));
    register_module("post_attention_layernorm", std::make_shared<RMSNorm>(c.hidden_size, c.rms_norm_eps));
  }
  Tensor forward(const Tensor& x, const RotaryTables& rope, KVCache* cache, int64_t layer) {
    Tensor h = ag::add(x, child_as<LlamaAttention>("self_attn").forward(child_as<UnaryModule>("input_layernorm").forward(x), rope, cache, layer));
    return ag::add(h, child_as<UnaryModule>("mlp").forward(child_as<UnaryModule>("post_attention_layernorm").forward(h)));
  }
};

}  // namespace

Llama::Llama(const LlamaConfig& config, Generator& gen) : config_(config) {
  config_.validate("Llama");
  const LlamaConfig& c = config_;
  auto model = register_module("model", std::make_shared<Module>());
  model->register_module("embed_tokens", std::make_shared<Embedding>(c.vocab_size, c.hidden_size, gen));
  auto layers = model->register_module("layers", std::make_shared<Module>());
  for (int64_t i = 0; i < c.num_hidden_layers; i++) layers->register_module(std::to_string(i), std::make_shared<LlamaDecoderLayer>(c, gen));
  model->register_module("norm", std::make_shared<RMSNorm>(c.hidden_size, c.rms_norm_eps));
  if (!c.tie_word_embeddings) register_module("lm_head", std::make_shared<Linear>(c.hidden_size, c.vocab_size, gen, false));
  name_parameters();
  // HF's _init_weights: every Linear and Embedding weight ~ N(0, initializer_range); RMSNorm weights stay 1
  for (auto& [name, p] : named_parameters())
    if (name.find("norm") == std::string::npos) init::normal_(p, 0.0, c.initializer_range, gen);
}

Tensor Llama::forward(const Tensor& ids) { return run(ids, nullptr); }

Tensor Llama::forward(const Tensor& ids, KVCache& cache) {
  LAB_CHECK(!ag::grad_enabled(), "Llama::forward with a KV cache records no graph (HINT: wrap the call in ag::NoGradGuard)");
  LAB_CHECK(cache.layers() == config_.num_hidden_layers, "Llama::forward: a KV cache of {} layers for a model of {}", cache.layers(),
            config_.num_hidden_layers);
  return run(ids, &cache);
}

KVCache Llama::make_kv_cache(int64_t batch) const {
  const LlamaConfig& c = config_;
  return KVCache(c.num_hidden_layers, batch, c.num_key_value_heads, c.max_position_embeddings, c.hd(), device());
}

Tensor Llama::run(const Tensor& ids, KVCache* cache) {
  const LlamaConfig& c = config_;
  LAB_CHECK(ids.dim() == 2 && (ids.dtype() == DType::i64 || ids.dtype() == DType::i32),
            "Llama: expected token ids of shape [B, T] and dtype i64, got shape {} and dtype {}", shape_str(ids.shape()),
            dtype_name(ids.dtype()));
  const int64_t B = ids.size(0), T = ids.size(1), start = cache != nullptr ? cache->length() : 0;
  LAB_CHECK(B >= 1 && T >= 1 && start + T <= c.max_position_embeddings,
            "Llama: {} cached + {} new positions (ids of shape {}) pass the context of {} tokens (max_position_embeddings) (HINT: feed the last {} tokens)",
            start, T, shape_str(ids.shape()), c.max_position_embeddings, c.max_position_embeddings);
  std::vector<int64_t> values = ids.to_vector<int64_t>();
  for (size_t i = 0; i < values.size(); i++)
    LAB_CHECK(values[i] >= 0 && values[i] < c.vocab_size, "Llama: token id {} at [{}, {}] is outside the vocabulary [0, {})", values[i],
              int64_t(i) / T, int64_t(i) % T, c.vocab_size);

  Module& model = *child("model");
  Tensor& embed = model.parameter("embed_tokens.weight");  // [V, C]
  Tensor x = model.child_as<UnaryModule>("embed_tokens").forward(ids.to(embed.device()));
  const RotaryTables rope = rotary_tables(start, T, c.hd(), c.rope_theta, embed.device());
  Module& layers = *model.child("layers");
  for (int64_t i = 0; i < c.num_hidden_layers; i++) x = layers.child_as<LlamaDecoderLayer>(std::to_string(i)).forward(x, rope, cache, i);
  if (cache != nullptr) cache->advance(T);
  x = model.child_as<UnaryModule>("norm").forward(x);
  // logits = lm_head(x), or x embed_tokens^T when tied   [B, T, C] -> [B, T, V]
  if (c.tie_word_embeddings) return ag::matmul(x, ag::transpose(embed, 0, 1));
  return child_as<UnaryModule>("lm_head").forward(x);
}

std::string Llama::summary() const {
  const LlamaConfig& c = config_;
  return fmt::format("llama: {} layers, {} heads ({} kv heads, head_dim {}), {} wide, MLP {}, context {}, vocab {}, rope_theta {}, {} head",
                     c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads, c.hd(), c.hidden_size, c.intermediate_size,
                     c.max_position_embeddings, c.vocab_size, c.rope_theta, c.tie_word_embeddings ? "tied" : "untied");
}

std::string Llama::config_json() const { return llama_config_json(config_); }

}  // namespace lab::nn
