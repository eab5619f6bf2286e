// LoRA adapter files as Hugging Face PEFT writes and reads them (save_pretrained / from_pretrained):
// a folder with adapter_config.json and adapter_model.safetensors, so an adapter trained here loads
// in PEFT on the same base model, and one trained with PEFT loads here.
//
//   adapter_model.safetensors  base_model.model.transformer.h.0.attn.c_attn.lora_A.weight  [r, in]   (f32)
//                              base_model.model.transformer.h.0.attn.c_attn.lora_B.weight  [out, r]
//   our parameters             h.0.attn.c_attn.lora_A.default.weight, h.0.attn.c_attn.lora_B.default.weight
//
// PEFT's keys are the module names of GPT2LMHeadModel (ours with "transformer." in front, for a GPT)
// under "base_model.model.", with the adapter's name taken out. Loading is strict where PEFT only
// warns: a missing or unexpected key, or a shape the model cannot take, is an error naming it.
// Not here: the layer and inject_lora (lora.h). Next: tools/loralab/merge.cpp, lesson 05.
#pragma once

#include "nn/lora.h"

#include <string>
#include <vector>

namespace lab::nn {

// adapter_config.json: PEFT's LoraConfig fields that change what the adapter computes, plus the
// two that say what it is for.
struct AdapterConfig {
  LoraConfig lora;                      // r, lora_alpha, lora_dropout, target_modules (list or regex), use_rslora, bias
  std::string base_model_name_or_path;  // "" is written as null
  std::string task_type = "CAUSAL_LM";  // "" is written as null
  bool fan_in_fan_out = true;           // GPT-2's Conv1D stores [in, out]; A and B keep nn.Linear's layout either way
  bool default_targets = false;         // target_modules was null or absent: lora.target_modules is the model type's default
};

// What PEFT wraps when target_modules is null (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, keyed
// by config.json's model_type): gpt2 -> ["c_attn"], llama -> ["q_proj", "v_proj"]. Another model type is
// a lab::Error naming it (HINT: list target_modules in adapter_config.json).
std::vector<std::string> peft_default_targets(const std::string& model_type);

// Reads PEFT's adapter_config.json. Only "peft_type": "LORA" is required; a missing field takes
// PEFT's default, and target_modules null (or absent) takes peft_default_targets(model_type): the
// base model's config.json model_type (nn::model_type_of), or the family of the model it is loaded
// into (load_adapter does that). Fields we do not know are ignored, as PEFT ignores them. A bad
// value, or a feature loralab does not have (rank_pattern, use_dora, modules_to_save, ...), is a
// lab::Error naming `source` and the field.
AdapterConfig parse_adapter_config(const std::string& json_text, const std::string& source, const std::string& model_type = "gpt2");
// What PEFT writes: sorted keys, 2-space indent, peft_type "LORA", inference_mode true.
std::string adapter_config_json(const AdapterConfig& config);

// Writes dir/adapter_model.safetensors (this adapter's A and B of every LoRALinear, f32, PEFT's
// keys) and dir/adapter_config.json, each file whole or not at all; creates dir. The config must
// describe the layers: their r and scaling, and a target that selects exactly the wrapped modules
// (a target_regex on our names is written as "transformer\.(?:REGEX)" for a GPT, the names PEFT sees).
// The files go to dir itself whatever the adapter's name (PEFT's save_pretrained puts adapters other
// than "default" in dir/<name>/).
void save_adapter(const Module& model, const AdapterConfig& config, const std::string& dir, const std::string& adapter = "default");

// Reads dir/adapter_config.json and dir/adapter_model.safetensors into `adapter`: wraps the modules
// the config selects (inject_lora, A drawn from gen and then overwritten) unless the model has this
// adapter already (then its r and scaling must be the file's), and copies A and B in. Everything is
// checked before the model changes. target_modules null means the default of the model's family
// (CausalLM::family(); a Module that is not a CausalLM is taken for GPT-2). Returns the file's config.
AdapterConfig load_adapter(Module& model, const std::string& dir, Generator& gen, const std::string& adapter = "default");

// PEFT's merge_and_unload: merges the active adapter of every LoRALinear into its base layer and
// puts the base layer back in the LoRALinear's place, leaving a plain model (what save_gpt writes).
// Returns the dotted names of the layers unwrapped. A base that cannot merge (Linear4bit) is an error,
// and the model is left as it was.
std::vector<std::string> merge_and_unload(Module& model);

}  // namespace lab::nn
