// save_nf4_model / load_nf4_model (see nf4_checkpoint.h): GPT-2 goes to quantize_model.cpp, LLaMA is here.
#include "quant/nf4_checkpoint.h"

#include "autograd/autograd.h"
#include "nn/gpt.h"
#include "nn/linear.h"
#include "nn/llama.h"
#include "nn/llama_checkpoint.h"
#include "quant/linear4bit.h"
#include "quant/nf4_io.h"
#include "quant/quantize_model.h"
#include "tensor/atomic_file.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>

namespace lab::quant {

namespace fs = std::filesystem;

namespace {

// transformers' BitsAndBytesConfig.to_dict(), as save_pretrained writes it for a 4-bit model
nlohmann::json bnb_config(bool double_quant) {
  return {{"_load_in_4bit", true},          {"_load_in_8bit", false},         {"bnb_4bit_compute_dtype", "float32"},
          {"bnb_4bit_quant_storage", "uint8"}, {"bnb_4bit_quant_type", "nf4"}, {"bnb_4bit_use_double_quant", double_quant},
          {"llm_int8_enable_fp32_cpu_offload", false}, {"llm_int8_has_fp16_weight", false}, {"llm_int8_skip_modules", nullptr},
          {"llm_int8_threshold", 6.0},      {"load_in_4bit", true},           {"load_in_8bit", false},
          {"quant_method", "bitsandbytes"}};
}

}  // namespace

int64_t quantize_for_qlora(nn::CausalLM& model, int64_t blocksize, bool double_quant) {
  return quantize_linears_to_nf4(model, {"lm_head"}, blocksize, double_quant);
}

void save_nf4_model(nn::CausalLM& model, const std::string& dir) {
  if (auto* gpt = dynamic_cast<nn::GPT*>(&model)) return save_gpt_nf4(*gpt, dir);
  auto* llama = dynamic_cast<nn::Llama*>(&model);
  LAB_CHECK(llama != nullptr, "save_nf4_model {}: a model of family {} has no NF4 writer", dir, model.family());
  std::vector<std::pair<std::string, NF4Tensor>> weights;
  bool double_quant = false;
  for (auto& [prefix, module] : model.named_modules())
    for (const auto& [name, child] : module->named_children())
      if (auto* q = dynamic_cast<Linear4bit*>(child.get())) {
        weights.push_back({(prefix.empty() ? name : prefix + "." + name) + ".weight", q->weight().to(Device::cpu())});
        double_quant = double_quant || q->weight().double_quantized();
      }
  NamedTensors others;
  for (const auto& [name, p] : model.named_parameters()) {
    LAB_CHECK(name.find("lora_") == std::string::npos && name.find("base_layer") == std::string::npos,
              "save_nf4_model {}: the model has LoRA parameter {} (HINT: save adapters with nn/lora_io.h, the base model without them)", dir, name);
    others.push_back({name, ag::detach(p).to(DType::f32)});
  }
  nlohmann::json config = json_io::parse(model.config_json());
  config["quantization_config"] = bnb_config(double_quant);
  std::error_code ec;
  fs::create_directories(dir, ec);
  LAB_CHECK(fs::is_directory(dir), "save_nf4_model: cannot create the folder {}: {}", dir, ec ? ec.message() : "a file is in the way");
  write_file_atomically((fs::path(dir) / "config.json").string(), json_io::dump(config, 2) + "\n");
  save_nf4((fs::path(dir) / "model.safetensors").string(), weights, others);
}

std::shared_ptr<nn::CausalLM> load_nf4_model(const std::string& dir, Device device) {
  const std::string type = nn::model_type_of(dir);
  if (type == "gpt2") return load_gpt_nf4(dir, device);
  if (type != "llama") return nn::load_causal_lm(dir, device);  // its error names the model_type
  const nn::LlamaConfig config = nn::load_llama_config((fs::path(dir) / "config.json").string());
  const std::string path = (fs::path(dir) / "model.safetensors").string();
  LAB_CHECK(fs::exists(path), "{}: no such file (HINT: an NF4 checkpoint is one model.safetensors, as `loralab quantize` writes it)", path);
  SafetensorsFile file = SafetensorsFile::open(path);
  if (nf4_names(file).empty()) return nn::load_llama(dir, device);

  Generator gen(0);  // every parameter is overwritten below
  auto model = std::make_shared<nn::Llama>(config, gen);
  model->to(device);
  std::map<std::string, nn::Module*> modules;
  for (auto& [n, m] : model->named_modules()) modules[n] = m;
  std::set<std::string> nf4_entries;
  for (const std::string& key : nf4_names(file)) {
    const std::string suffix = ".weight";
    const bool weight = key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    const std::string module_name = weight ? key.substr(0, key.size() - suffix.size()) : key;
    const size_t dot = module_name.rfind('.');
    nn::Module* parent = weight && dot != std::string::npos && modules.count(module_name.substr(0, dot)) ? modules[module_name.substr(0, dot)] : nullptr;
    const std::string child = dot == std::string::npos ? "" : module_name.substr(dot + 1);
    auto* linear = parent != nullptr ? dynamic_cast<nn::Linear*>(parent->child(child).get()) : nullptr;
    LAB_CHECK(linear != nullptr, "{}: NF4 entry '{}' is not the weight of a Linear layer of this LLaMA (config.json: {} layers)", path, key,
              config.num_hidden_layers);
    NF4Tensor q = load_nf4(file, key, device);
    const Shape expected = {linear->out_features(), linear->in_features()};
    LAB_CHECK(q.shape == expected, "{}: expected NF4 weight {} of shape {} ([out, in]), found {}", path, key, shape_str(expected), shape_str(q.shape));
    parent->replace_module(child, std::make_shared<Linear4bit>(std::move(q)));
    for (const char* s : {"", ".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map", ".quant_state.bitsandbytes__nf4"}) nf4_entries.insert(key + s);
  }
  model->name_parameters();
  std::map<std::string, Tensor> tensors;
  for (const SafetensorsEntry& e : file.entries()) {
    if (nf4_entries.count(e.name) || (config.tie_word_embeddings && e.name == "lm_head.weight")) continue;
    LAB_CHECK(is_floating(e.dtype), "{}: {} has dtype {}, expected a floating-point one (f32, bf16, f16)", path, e.name, dtype_name(e.dtype));
    tensors[e.name] = file.load(e.name).to(DType::f32);
  }
  model->load_state_dict(tensors, true, path);
  return model;
}

}  // namespace lab::quant
