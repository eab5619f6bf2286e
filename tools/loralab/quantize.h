// `loralab quantize --model DIR --out DIR [--double-quant] [--blocksize N]`: a GPT checkpoint's four
// projections of every block to NF4 (QLoRA's base), written as transformers writes a bitsandbytes
// 4-bit model: config.json with "quantization_config" and NF4 entries under bitsandbytes' names
// (quant/nf4_io.h). It prints the layers, the bytes before and after (the allocator's count), and
// checks its own file by reading it back (quant::load_gpt_nf4) and comparing logits with the f32 model.
// Not here: the quantization itself (quant/quantize_model.h), LoRA on top (lesson 06).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace lab::tools {

struct QuantizeOptions {
  std::string model;          // f32 checkpoint folder (config.json + model.safetensors)
  std::string out;            // the NF4 folder to write
  bool double_quant = false;  // bitsandbytes' bnb_4bit_use_double_quant (default False there too)
  int64_t blocksize = 64;
};

CLI::App* add_quantize_command(CLI::App& app, QuantizeOptions& options);
void run_quantize(const QuantizeOptions& options);

}  // namespace lab::tools
