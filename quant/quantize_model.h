// A whole model to NF4, as QLoRA does it (Dettmers et al. 2023, section 3; transformers'
// replace_with_bnb_linear): every nn::Linear child becomes a frozen quant::Linear4bit, while the
// embeddings, LayerNorms and biases stay f32. In a GPT those are attn.c_attn, attn.c_proj,
// mlp.c_fc and mlp.c_proj of each block; inject_lora (nn/lora.h) then wraps the Linear4bit layers.
//
// Files: save_gpt_nf4 writes a Hugging Face GPT-2 folder whose four projections are NF4 under
// bitsandbytes' names (quant/nf4_io.h: W, W.absmax, W.quant_map, ..., W.quant_state.bitsandbytes__nf4;
// W is [out, in] as bitsandbytes' Linear4bit holds it, not GPT-2's Conv1D [in, out]), plus config.json
// with transformers' "quantization_config". load_gpt_nf4 reads it back. Not here: the codec (nf4.h),
// the layer (linear4bit.h), f32 checkpoints (nn/gpt_checkpoint.h). Next: lessons/06_qlora/main.cpp.
#pragma once

#include "nn/gpt.h"
#include "nn/module.h"
#include "quant/nf4.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lab::quant {

// Replaces every nn::Linear under `model` whose dotted name is not in `skip` (a name matches an entry
// equal to it or ending in "." + entry, as PEFT's target_modules) by a frozen Linear4bit quantized on the
// Linear's device; returns how many. The f32 weights are released (the allocator's count drops).
int64_t quantize_linears_to_nf4(nn::Module& model, const std::vector<std::string>& skip = {}, int64_t blocksize = kDefaultBlockSize,
                                bool double_quant = true);

// What the NF4 layers under `model` hold in the allocator (codes + statistics, without biases).
size_t nf4_weight_bytes(nn::Module& model);

// Writes dir/config.json (GPTConfig + quantization_config) and dir/model.safetensors: the Linear4bit
// weights as NF4 entries, every other parameter f32 (a Linear left unquantized in Conv1D's [in, out]).
// Created whole or not at all (temporary file, then rename). A model with LoRA layers is an error.
void save_gpt_nf4(nn::GPT& model, const std::string& dir);

// Reads a folder written by save_gpt_nf4 (or a plain f32 one: then nothing is NF4). Every weight with
// a quant_state entry becomes a Linear4bit, checked against the shape the config gives it; the other
// tensors load strictly (missing and unexpected names listed). The model comes back in training mode.
std::shared_ptr<nn::GPT> load_gpt_nf4(const std::string& dir, Device device = Device::cpu());

}  // namespace lab::quant
