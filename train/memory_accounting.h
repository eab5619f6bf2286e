// Memory of fine-tuning a transformer from its shapes: weights, gradients, AdamW's state and
// activations, for full fine-tuning, LoRA and QLoRA (lesson 06's LLaMA-7B/65B figures).
//
//   weights      linear weights at `linear_bits` (32 f32, 16 bf16, ~4.127 NF4 + double quant at block 64) + the rest at `other_bits`
//   gradients    trainable parameters x grad_bytes          AdamW   trainable x (8 for m and v in f32 + master_bytes)
//   activations  per layer B T (c_h C + c_i I + c_bt) + c_att B H T^2, plus the head B T (c_top_h C + c_top_v V)  (bytes)
//
// Coefficients per implementation: ours in f32 (held to the allocator by tests/train/test_memory_accounting.cpp),
// and 16-bit after Korthikanti et al. 2022 (sec. 4.1: 34 s b h + 5 a s^2 b bytes a GPT layer). Not here: the
// measured figures (train/finetune.h), sharding, KV caches, CUDA context, fragmentation. Next: lessons/06_qlora/main.cpp.
#pragma once

#include "nn/gpt_config.h"
#include "nn/llama_config.h"
#include "nn/lora_count.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lab::train {

// The shape of a decoder-only transformer: GPT-2 (Conv1D c_attn/c_proj/c_fc/c_proj with biases, GELU
// MLP, LayerNorm, head tied to wte, learned positions) or LLaMA (q,k,v,o and gate/up/down without
// biases, SwiGLU MLP, RMSNorm, untied lm_head, rotary positions: no position table).
struct TransformerShape {
  std::string name;
  bool llama = false;
  int64_t layers = 0, hidden = 0, intermediate = 0, heads = 0, vocab = 0, positions = 0;  // positions: GPT-2's wpe rows
  int64_t kv_heads = 0, head_dim = 0;  // LLaMA's GQA: 0 = heads, hidden / heads (k_proj and v_proj are [kv_heads head_dim, hidden])
  bool tied_head = false;              // LLaMA with tie_word_embeddings: no lm_head of its own
};
TransformerShape shape_of(const nn::GPTConfig& c, const std::string& name = "GPT");
TransformerShape shape_of(const nn::LlamaConfig& c, const std::string& name = "LLaMA");
TransformerShape llama_7b();   // 32 layers, hidden 4096, intermediate 11008, 32 heads, vocab 32000
TransformerShape llama_65b();  // 80 layers, hidden 8192, intermediate 22016, 64 heads, vocab 32000

// The weight matrices of one block (GPT-2: c_attn [3C, C], attn.c_proj, c_fc, mlp.c_proj; LLaMA: q,k,v,o,gate,up,down).
std::vector<nn::LoraTarget> block_linears(const TransformerShape& s);
int64_t linear_parameters(const TransformerShape& s);  // every block's linear weights (what NF4 quantizes)
int64_t total_parameters(const TransformerShape& s);   // + embeddings, norms, biases, an untied head

// Bytes of activations one step keeps for backward, per element kind (see the header comment).
struct ActivationCoefficients {
  double c_h, c_i, c_bt, c_att;  // per layer: bytes per B T C, per B T I, per B T, per B H T^2
  double c_top_h, c_top_v;       // once: bytes per B T C and per B T V (embeddings, final norm, logits, loss)
  double c_back_v = 0;           // the backward's transient: bytes per B T V (the logits' gradient) ...
  double c_back_vh = 0;          // ... and per V C (the head's weight gradient before it is added in)
  double c_checkpoint = 0;       // with gradient checkpointing: bytes per B T C of each layer's input, kept instead
  std::string what;              // where the numbers come from, printed beside the figures
};
// This framework, f32, no dropout (read off the graph that nn/gpt.cpp records; tests/train/test_memory_accounting.cpp
// holds it to the allocator): per layer 9 C-wide and 2 I-wide tensors, 4 floats per token of LayerNorm
// statistics, one B H T T attention matrix; the head keeps 2 C-wide tensors and the logits.
ActivationCoefficients loralab_f32();
// 16-bit, no recomputation, eager attention: Korthikanti's GPT layer (34 sbh + 5as^2b bytes with I = 4h
// = 18 sbh + 4 sbI + 5 as^2b), LLaMA's SwiGLU MLP (8 sbI: gate, up, silu(gate), their product; no dropout
// masks: 16 sbh + 8 sbI + 4 as^2b); logits in 16-bit plus the f32 copy the loss makes (6 bytes per B T V).
ActivationCoefficients korthikanti_16bit(bool llama);

double activation_bytes(const TransformerShape& s, int64_t batch, int64_t seq_len, const ActivationCoefficients& k);
// Peak extra bytes during backward: activation_bytes + the transients of the backward pass.
double activation_peak_bytes(const TransformerShape& s, int64_t batch, int64_t seq_len, const ActivationCoefficients& k);
// With gradient checkpointing (Chen et al. 2016): layers x c_checkpoint B T C, plus one layer's activations
// while it is recomputed, plus the head and the backward's transients.
double checkpointed_activation_peak_bytes(const TransformerShape& s, int64_t batch, int64_t seq_len, const ActivationCoefficients& k);

// One way of fine-tuning: what is stored at which width, and what trains.
struct FinetuneRecipe {
  std::string name;
  double linear_bits = 16;  // bits a linear weight: 32, 16, or NF4's 4 + 8/64 + 32/(64*256) with double quantization
  double other_bits = 16;   // embeddings, norms, biases, head
  bool full = false;        // every parameter trains (else only LoRA's A and B)
  std::vector<std::string> lora_targets;  // names from block_linears (only when !full)
  int64_t r = 8;
  double trainable_bits = 32;  // LoRA's A and B (PEFT keeps them f32); full: the 16-bit weights themselves
  double grad_bits = 32;       // a gradient per trainable parameter
  double master_bits = 0;      // full fine-tuning in mixed precision keeps an f32 master copy (32)
  bool gradient_checkpointing = false;  // keep each layer's input only; recompute one layer at a time in backward
};
double nf4_bits(int64_t blocksize = 64, bool double_quant = true);  // 4 + statistics per weight

struct MemoryEstimate {
  double weights = 0, adapters = 0, grads = 0, optimizer = 0, activations = 0;
  int64_t trainable = 0;
  double total() const { return weights + adapters + grads + optimizer + activations; }
};
MemoryEstimate estimate_finetune_memory(const TransformerShape& s, const FinetuneRecipe& recipe, int64_t batch, int64_t seq_len,
                                        const ActivationCoefficients& k);

}  // namespace lab::train
