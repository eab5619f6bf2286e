// LLaMA checkpoints in the Hugging Face layout: a folder with config.json and either one
// model.safetensors or model.safetensors.index.json and the shards it lists (save_pretrained with a
// max_shard_size), in f32, bf16 or f16 (converted to f32 on load). save_llama shards as save_pretrained does.
//
//   model.embed_tokens.weight                    [V, C]
//   model.layers.N.self_attn.{q,k,v,o}_proj.weight  [out, in] as nn.Linear (no transposes, unlike GPT-2)
//   model.layers.N.mlp.{gate,up,down}_proj.weight, model.layers.N.{input,post_attention}_layernorm.weight
//   model.norm.weight, lm_head.weight            (lm_head absent when tie_word_embeddings)
//   model.safetensors.index.json   {"metadata": {"total_size": N}, "weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors", ...}}
//
// Not here: the model (llama.h), LoRA adapter files (lora_io.h, whose keys follow these names).
// Next: causal_lm.h (load_causal_lm picks GPT-2 or LLaMA by config.json's model_type).
#pragma once

#include "nn/llama.h"
#include "tensor/device.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lab::nn {

// model.safetensors.index.json, checked: weight_map an object of tensor -> shard file name (a plain
// name ending in .safetensors, no folders), metadata.total_size a non-negative integer when present.
struct ShardIndex {
  std::map<std::string, std::string> weight_map;
  std::vector<std::string> shards;  // sorted, each once
  std::optional<uint64_t> total_size;
};
ShardIndex parse_shard_index(const std::string& json_text, const std::string& source);

// The weight files of a Hugging Face folder: the shards of model.safetensors.index.json when it is
// there (each must exist), else model.safetensors. A lab::Error names what is missing.
struct CheckpointFiles {
  std::vector<std::string> files;  // full paths
  std::optional<ShardIndex> index;
  std::string index_path;          // "" when not sharded
};
CheckpointFiles checkpoint_files(const std::string& dir);

// Reads dir/config.json and the weights, every dtype converted to f32. Strict: missing and unexpected
// tensors are listed by name, a wrong shape names the tensor, expected and found; a tensor in another
// shard than the index says is an error. Ignored: rotary_emb.inv_freq buffers (older checkpoints), and
// a tied lm_head.weight (its shape is checked). The model comes back in training mode.
std::shared_ptr<Llama> load_llama(const std::string& dir, Device device = Device::cpu());

// Writes dir/config.json and the weights (f32, HF's names, no lm_head when tied): dir/model.safetensors
// when they fit in max_shard_bytes, else shards split as save_pretrained(max_shard_size) splits them
// (model-00001-of-0000N.safetensors ..., a tensor larger than the limit alone in its shard) and
// model.safetensors.index.json. Each file is written whole or not at all; the index last, after the
// index of an earlier save is removed, and the files of an earlier save that this one does not use
// are removed at the end. A model with LoRA layers is an error (merge them first).
void save_llama(const Llama& model, const std::string& dir, uint64_t max_shard_bytes = kDefaultMaxShardBytes);

}  // namespace lab::nn
