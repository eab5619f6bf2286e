// NF4 checkpoints of either family (GPT-2 or LLaMA, nn/causal_lm.h): a Hugging Face folder whose
// linear layers are bitsandbytes 4-bit entries, as `loralab quantize` writes it and QLoRA trains on it.
//
//   GPT-2: quantize_model.h's save_gpt_nf4 / load_gpt_nf4 ("transformer." keys, Conv1D transposes)
//   LLaMA: model.layers.N.self_attn.q_proj.weight (+ .absmax, .quant_map, ...) and the other tensors
//          f32 under HF's names; lm_head stays f32 (transformers' llm_int8_skip_modules default)
//
// config.json is the family's plus "quantization_config" (BitsAndBytesConfig, load_in_4bit, nf4).
// Not here: the codec (nf4.h), the layer (linear4bit.h). Next: tools/loralab/quantize.cpp.
#pragma once

#include "nn/causal_lm.h"
#include "tensor/device.h"

#include <memory>
#include <string>

namespace lab::quant {

// Every Linear but the LM head to NF4 (double quantized, `blocksize`), as QLoRA loads a base; returns how many.
int64_t quantize_for_qlora(nn::CausalLM& model, int64_t blocksize = 64, bool double_quant = true);

// Writes dir/config.json and dir/model.safetensors; the model's Linear4bit layers as NF4 entries.
void save_nf4_model(nn::CausalLM& model, const std::string& dir);

// Reads a folder of save_nf4_model (config.json's model_type picks the family); a plain f32 folder
// loads too (nothing NF4). The model comes back in training mode.
std::shared_ptr<nn::CausalLM> load_nf4_model(const std::string& dir, Device device = Device::cpu());

}  // namespace lab::quant
