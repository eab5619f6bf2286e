// What loralab's commands and lesson 09 share about a model folder of either family (GPT-2 or LLaMA):
// its config and files read from the headers only (no weights loaded), the tokenizer that goes with
// it, and the model itself. `loralab inspect --model`, `train --dry-run` and lesson 09 print the first;
// eval, generate, train and lesson 09 use the others. Not here: the loaders (nn/causal_lm.h), the
// tokenizers (data/tokenizer/). Next: memory_report.h, lessons/09_real_model/main.cpp.
#pragma once

#include "data/tokenizer/tokenizer.h"
#include "nn/causal_lm.h"
#include "train/memory_accounting.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lab::train {

struct ModelInfo {
  std::string dir;
  std::string family;                    // config.json's model_type: "gpt2" or "llama"
  std::string summary;                   // the config in one line
  int64_t vocab_size = 0, context = 0;
  std::vector<std::string> lora_targets; // PEFT's default target_modules for the family
  TransformerShape shape;                // for train/memory_accounting.h
  int64_t parameters = 0;                // from the headers: buffers and a tied head left out
  std::map<std::string, int64_t> dtypes; // dtype ("F32", "BF16", ...) -> tensors of it
  uint64_t tensor_bytes = 0;             // of the data sections
  std::vector<std::string> files;        // weight files (shards in order)
  std::string index;                     // model.safetensors.index.json, or "" when not sharded
  bool nf4 = false;                      // config.json has a quantization_config (loralab quantize's output)
  bool tied_head = true;                 // the LM head is the embedding (GPT-2 always; LLaMA with tie_word_embeddings)
};

// config.json only: family, summary, vocab_size, context, lora_targets, shape, nf4 (the rest left empty).
ModelInfo read_model_config(const std::string& dir);

// Reads config.json and the safetensors headers (mapped, not loaded): a lab::Error for a bad folder.
ModelInfo read_model_info(const std::string& dir);

// The tokenizer of a model folder: its tokenizer.json (or vocab.json + merges.txt) when present, else
// bytes for a byte-level model (vocab_size 256); anything else is a lab::Error saying what to add.
// `what` says what reads bytes ("generate reads --prompt as bytes") in that message.
std::unique_ptr<data::Tokenizer> tokenizer_for(const std::string& dir, int64_t vocab_size, const std::string& what);

// The model of a folder, either family, f32/bf16/f16 or NF4 (config.json with a quantization_config).
std::shared_ptr<nn::CausalLM> load_model(const std::string& dir, Device device);

// Whether the folder holds tokenizer files (tokenizer.json, or vocab.json and merges.txt).
bool has_tokenizer_files(const std::string& dir);

}  // namespace lab::train
