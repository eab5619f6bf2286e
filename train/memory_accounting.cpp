// The arithmetic of memory_accounting.h: parameter counts from shapes, and the bytes of one
// fine-tuning step per recipe. Every coefficient is named where it is defined.
#include "train/memory_accounting.h"

#include "tensor/error.h"

#include <algorithm>

namespace lab::train {

TransformerShape shape_of(const nn::GPTConfig& c, const std::string& name) {
  return {name, false, c.n_layer, c.n_embd, c.inner(), c.n_head, c.vocab_size, c.n_positions};
}
TransformerShape shape_of(const nn::LlamaConfig& c, const std::string& name) {
  TransformerShape s{name, true, c.num_hidden_layers, c.hidden_size, c.intermediate_size, c.num_attention_heads, c.vocab_size, 0};
  s.kv_heads = c.num_key_value_heads, s.head_dim = c.hd(), s.tied_head = c.tie_word_embeddings;
  return s;
}
TransformerShape llama_7b() { return {"LLaMA-7B", true, 32, 4096, 11008, 32, 32000, 0}; }
TransformerShape llama_65b() { return {"LLaMA-65B", true, 80, 8192, 22016, 64, 32000, 0}; }

std::vector<nn::LoraTarget> block_linears(const TransformerShape& s) {
  const int64_t C = s.hidden, I = s.intermediate;
  if (s.llama) {  // q [H hd, C], k and v [Hkv hd, C] (GQA), o [C, H hd]
    const int64_t hd = s.head_dim > 0 ? s.head_dim : C / std::max<int64_t>(s.heads, 1);
    const int64_t Q = s.heads * hd, KV = (s.kv_heads > 0 ? s.kv_heads : s.heads) * hd;
    return {{"q_proj", C, Q}, {"k_proj", C, KV}, {"v_proj", C, KV}, {"o_proj", Q, C}, {"gate_proj", C, I}, {"up_proj", C, I}, {"down_proj", I, C}};
  }
  return {{"c_attn", C, 3 * C}, {"attn.c_proj", C, C}, {"c_fc", C, I}, {"mlp.c_proj", I, C}};
}

int64_t linear_parameters(const TransformerShape& s) { return nn::dense_parameters(block_linears(s), s.layers); }

int64_t total_parameters(const TransformerShape& s) {
  const int64_t C = s.hidden, I = s.intermediate, V = s.vocab;
  if (s.llama)  // embed_tokens + lm_head (unless tied), per layer two RMSNorm weights, the final norm
    return linear_parameters(s) + (s.tied_head ? 1 : 2) * V * C + s.layers * 2 * C + C;
  // wte (tied head) + wpe, per layer 2 LayerNorms (weight + bias) and the biases 3C + C + I + C, ln_f
  return linear_parameters(s) + V * C + s.positions * C + s.layers * (4 * C + 5 * C + I) + 2 * C;
}

ActivationCoefficients loralab_f32() {
  ActivationCoefficients k;
  k.c_h = 9 * 4, k.c_i = 2 * 4, k.c_bt = 4 * 4, k.c_att = 1 * 4;  // 9 C-wide, 2 I-wide (c_fc out, gelu out), LN mean+rstd x2, softmax out
  k.c_top_h = 2 * 4, k.c_top_v = 1 * 4;                           // embedding sum, ln_f out; the logits
  k.c_back_v = 4, k.c_back_vh = 4;                                // dlogits [B T V] and the head's gradient [V C]
  k.c_checkpoint = 4;
  k.what = "loralab f32: per layer 9 C-wide + 2 I-wide tensors, LayerNorm statistics, one attention matrix; logits";
  return k;
}

ActivationCoefficients korthikanti_16bit(bool llama) {
  ActivationCoefficients k;
  if (llama) k.c_h = 16, k.c_i = 8, k.c_att = 4;  // no dropout masks; SwiGLU keeps gate, up, silu(gate), product (2 bytes each)
  else k.c_h = 18, k.c_i = 4, k.c_att = 5;        // Korthikanti's 34 sbh at I = 4h: 18 sbh + 4 sbI; 5 as^2b
  k.c_bt = 0, k.c_top_h = 2 * 2, k.c_top_v = 2 + 4;  // final norm in/out; logits 16-bit + the f32 copy for the loss
  k.c_back_v = 4, k.c_back_vh = 2;                    // f32 dlogits; the head's 16-bit gradient
  k.c_checkpoint = 2;                                 // each layer's 16-bit input
  k.what = "16-bit activations, eager attention, no recomputation (Korthikanti et al. 2022)";
  return k;
}

double activation_bytes(const TransformerShape& s, int64_t batch, int64_t seq_len, const ActivationCoefficients& k) {
  const double B = double(batch), T = double(seq_len), C = double(s.hidden), I = double(s.intermediate), H = double(s.heads), V = double(s.vocab);
  // per layer B T (c_h C + c_i I + c_bt) + c_att B H T^2;  once B T (c_top_h C + c_top_v V)
  const double layer = B * T * (k.c_h * C + k.c_i * I + k.c_bt) + k.c_att * B * H * T * T;
  return double(s.layers) * layer + B * T * (k.c_top_h * C + k.c_top_v * V);
}

double activation_peak_bytes(const TransformerShape& s, int64_t batch, int64_t seq_len, const ActivationCoefficients& k) {
  // + c_back_v B T V (the logits' gradient) + c_back_vh V C (the head's weight gradient, before it is added)
  return activation_bytes(s, batch, seq_len, k) + k.c_back_v * double(batch * seq_len * s.vocab) + k.c_back_vh * double(s.vocab * s.hidden);
}

double checkpointed_activation_peak_bytes(const TransformerShape& s, int64_t batch, int64_t seq_len, const ActivationCoefficients& k) {
  TransformerShape one = s;
  one.layers = 1;  // the layer being recomputed holds its full activations
  return double(s.layers) * k.c_checkpoint * double(batch * seq_len * s.hidden) + activation_peak_bytes(one, batch, seq_len, k);
}

double nf4_bits(int64_t blocksize, bool double_quant) {
  // 4 bits a code + the block's absmax: f32 (32 / blocksize), or 8-bit + an f32 per 256 blocks
  return 4.0 + (double_quant ? 8.0 / double(blocksize) + 32.0 / (double(blocksize) * 256.0) : 32.0 / double(blocksize));
}

MemoryEstimate estimate_finetune_memory(const TransformerShape& s, const FinetuneRecipe& r, int64_t batch, int64_t seq_len,
                                        const ActivationCoefficients& k) {
  const int64_t linear = linear_parameters(s), total = total_parameters(s);
  MemoryEstimate m;
  m.weights = double(linear) * r.linear_bits / 8 + double(total - linear) * r.other_bits / 8;
  if (r.full) {
    m.trainable = total;
  } else {
    std::vector<nn::LoraTarget> targets;
    for (const nn::LoraTarget& t : block_linears(s))
      if (std::find(r.lora_targets.begin(), r.lora_targets.end(), t.name) != r.lora_targets.end()) targets.push_back(t);
    LAB_CHECK(!targets.empty(), "estimate_finetune_memory: recipe '{}' targets none of {}'s linear layers", r.name, s.name);
    m.trainable = nn::lora_parameters(targets, s.layers, r.r);  // layers * sum r (in + out)
    m.adapters = double(m.trainable) * r.trainable_bits / 8;
  }
  m.grads = double(m.trainable) * r.grad_bits / 8;
  // AdamW: m and v in f32 (8 bytes) + the f32 master copy of mixed precision, if any
  m.optimizer = double(m.trainable) * (8 + r.master_bits / 8);
  m.activations = r.gradient_checkpointing ? checkpointed_activation_peak_bytes(s, batch, seq_len, k) : activation_peak_bytes(s, batch, seq_len, k);
  return m;
}

}  // namespace lab::train
