// GPT checkpoints in the Hugging Face layout: a folder with config.json and model.safetensors, the
// folder GPT2LMHeadModel.save_pretrained writes and from_pretrained reads.
//
//   transformer.h.0.attn.c_attn.weight  [C, 3C]   Conv1D weights are stored [in, out]: c_attn,
//   h.0.attn.c_attn.weight              [C, 3C]   c_proj, c_fc (nn::Linear holds [out, in])
//
// save_gpt writes keys with "transformer." (as save_pretrained); load_gpt also reads the hub's
// openai-community/gpt2 layout (no prefix, causal-mask buffers h.N.attn.bias). Both files appear
// whole or not at all (written to a temporary file in the folder, then renamed).
// Not here: training state (checkpoint.h), LoRA adapters (PEFT's layout, nn/lora_*). Next: sample.h.
#pragma once

#include "nn/gpt.h"
#include "tensor/device.h"

#include <memory>
#include <string>

namespace lab::nn {

// Creates `dir` (and parents); writes config.json and model.safetensors (f32, "transformer." keys,
// no lm_head.weight: it is tied to wte). A model whose layers were replaced (LoRA) is an error:
// merge the adapters first.
void save_gpt(const GPT& model, const std::string& dir);

// Reads dir/config.json and dir/model.safetensors. Keys with or without "transformer."; ignores the
// buffers h.N.attn.bias and h.N.attn.masked_bias and a tied lm_head.weight (its shape is checked);
// bf16/f16/f64 are converted to f32. Strict otherwise: missing and unexpected tensors are listed by
// name; a wrong shape names the tensor, the shape expected and the one found, with a HINT when it
// is the transpose. The model comes back in training mode, as a new GPT (HF's from_pretrained
// returns it in eval mode: call eval() for inference).
std::shared_ptr<GPT> load_gpt(const std::string& dir, Device device = Device::cpu());

}  // namespace lab::nn
