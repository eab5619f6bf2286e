// `loralab quantize`: see quantize.h.
#include "tools/loralab/quantize.h"

#include "autograd/autograd.h"
#include "nn/causal_lm.h"
#include "quant/nf4_checkpoint.h"
#include "quant/nf4.h"
#include "quant/quantize_model.h"
#include "tensor/all.h"
#include "tools/loralab/cli_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::App* add_quantize_command(CLI::App& app, QuantizeOptions& o) {
  CLI::App* cmd = app.add_subcommand("quantize", "Quantize a GPT-2 or LLaMA checkpoint's linear layers to NF4 (bitsandbytes' layout, as QLoRA's base)");
  cmd->add_option("--model", o.model, "Checkpoint folder (config.json + model.safetensors or its shards, Hugging Face GPT-2 or LLaMA layout; f32, bf16 or f16)")
      ->required()
      ->check(existing_folder("a checkpoint folder with config.json and model.safetensors"));
  cmd->add_option("--out", o.out, "Folder to write the NF4 checkpoint to (created if needed)")->required();
  cmd->add_flag("--double-quant", o.double_quant, "Quantize the absmaxes again (8-bit, blocks of 256): 4.127 bits a weight instead of 4.5");
  cmd->add_option("--blocksize", o.blocksize, "Weights per absmax: 32, 64, ..., 4096")
      ->check(CLI::Validator(
          [](std::string& s) {
            for (int64_t b = 32; b <= 4096; b *= 2)
              if (s == std::to_string(b)) return std::string();
            return fmt::format("must be a power of two from 32 to 4096, got '{}'", s);
          },
          "N"))
      ->capture_default_str();
  cmd->callback([&o] {
    std::error_code ec;
    if (fs::exists(o.out, ec) && fs::equivalent(o.out, o.model, ec))
      throw CLI::ValidationError("--out", fmt::format("{} is the --model folder; write the NF4 checkpoint beside it, not over it", o.out));
  });
  return cmd;
}

void run_quantize(const QuantizeOptions& o) {
  std::shared_ptr<nn::CausalLM> model = nn::load_causal_lm(o.model);
  model->eval();
  // a probe batch: the logits of the f32 model, to compare with the NF4 file read back
  Generator gen(0);
  const int64_t T = std::min<int64_t>(model->context_length(), 64);
  std::vector<int64_t> ids(static_cast<size_t>(T));
  for (auto& id : ids) id = int64_t(gen.next_u32() % uint32_t(model->vocab_size()));
  Tensor probe = from_vector(ids, {1, T});
  Tensor reference = ag::detach(model->forward(probe));

  const size_t before = memory_stats(Device::cpu()).current;
  const int64_t layers = quant::quantize_for_qlora(*model, o.blocksize, o.double_quant);  // every Linear but an untied lm_head
  const size_t after = memory_stats(Device::cpu()).current;
  const size_t nf4 = quant::nf4_weight_bytes(*model), f32 = nf4 + (before - after);
  fmt::print("{}: {}; {} linear layers to NF4 (block {}, double quantization {})\n", o.model, model->summary(), layers, o.blocksize,
             o.double_quant ? "on" : "off");
  fmt::print("linear weights: {} in f32 -> {} in NF4 ({:.3f} bits a weight, from the allocator)\n", format_bytes(f32), format_bytes(nf4),
             8.0 * double(nf4) / (double(f32) / 4.0));
  quant::save_nf4_model(*model, o.out);

  std::shared_ptr<nn::CausalLM> back = quant::load_nf4_model(o.out);
  back->eval();
  Tensor logits = ag::detach(back->forward(probe));
  double diff = 0, scale = 0;
  const std::vector<float> a = logits.to_vector<float>(), r = reference.to_vector<float>();
  for (size_t i = 0; i < a.size(); i++) diff = std::max(diff, double(std::fabs(a[i] - r[i]))), scale = std::max(scale, double(std::fabs(r[i])));
  fmt::print("written {}/config.json and {}/model.safetensors ({}); read back: max |logits - f32 logits| = {:.4g} (max |f32 logit| {:.4g}) "
             "over {} tokens\n", o.out, o.out, format_bytes(fs::file_size(fs::path(o.out) / "model.safetensors")), diff, scale, T);
}

}  // namespace lab::tools
