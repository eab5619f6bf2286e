// quantize_linears_to_nf4, and the NF4 GPT folder: save_gpt_nf4 / load_gpt_nf4 (see quantize_model.h).
// The Linear4bit layer and the NF4 entries of a file are not here: linear4bit.cpp, nf4_io.cpp.
#include "quant/quantize_model.h"

#include "autograd/autograd.h"
#include "nn/gpt_checkpoint.h"
#include "nn/gpt_config.h"
#include "nn/linear.h"
#include "quant/linear4bit.h"
#include "quant/nf4_io.h"
#include "tensor/atomic_file.h"
#include "tensor/full_match.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>

namespace lab::quant {

namespace fs = std::filesystem;

namespace {

const std::string kPrefix = "transformer.";

bool matches(const std::string& name, const std::string& entry) {
  return name == entry || (name.size() > entry.size() && name.compare(name.size() - entry.size() - 1, entry.size() + 1, "." + entry) == 0);
}

// GPT-2's four projections are Conv1D in its files: a plain (unquantized) weight is stored [in, out].
bool conv1d_weight(const std::string& name) {
  static const FullMatch conv1d(R"(h\.[0-9]+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight)", "Conv1D weight names");
  return conv1d(name);
}

// Every (parent, child name, dotted name) whose child is of type M, collected before anything is replaced.
template <typename M> std::vector<std::tuple<nn::Module*, std::string, std::string>> children_of_type(nn::Module& model) {
  std::vector<std::tuple<nn::Module*, std::string, std::string>> found;
  for (auto& [prefix, module] : model.named_modules())
    for (const auto& [name, child] : module->named_children())
      if (dynamic_cast<M*>(child.get())) found.emplace_back(module, name, prefix.empty() ? name : prefix + "." + name);
  return found;
}

}  // namespace

int64_t quantize_linears_to_nf4(nn::Module& model, const std::vector<std::string>& skip, int64_t blocksize, bool double_quant) {
  check_blocksize(blocksize, "quantize_linears_to_nf4");
  int64_t replaced = 0;
  for (auto& [parent, name, dotted] : children_of_type<nn::Linear>(model)) {
    bool skipped = false;
    for (const std::string& s : skip) skipped = skipped || matches(dotted, s);
    if (skipped) continue;
    auto& linear = parent->child_as<nn::Linear>(name);
    // W (f32 [out, in]) -> NF4 codes + absmax (double quantized: 8-bit absmax + nested f32), frozen
    parent->replace_module(name, std::make_shared<Linear4bit>(linear, blocksize, double_quant));
    replaced++;
  }
  model.name_parameters();
  return replaced;
}

size_t nf4_weight_bytes(nn::Module& model) {
  size_t bytes = 0;
  for (auto& [parent, name, dotted] : children_of_type<Linear4bit>(model)) bytes += parent->child_as<Linear4bit>(name).weight().nbytes();
  return bytes;
}

void save_gpt_nf4(nn::GPT& model, const std::string& dir) {
  std::vector<std::pair<std::string, NF4Tensor>> weights;
  std::set<std::string> nf4;
  bool double_quant = false;
  for (auto& [parent, name, dotted] : children_of_type<Linear4bit>(model)) {
    const NF4Tensor& q = parent->child_as<Linear4bit>(name).weight();
    weights.push_back({kPrefix + dotted + ".weight", q.to(Device::cpu())});
    nf4.insert(dotted + ".weight");
    double_quant = double_quant || q.double_quantized();
  }
  NamedTensors others;
  for (const auto& [name, p] : model.named_parameters()) {
    LAB_CHECK(name.find("lora_") == std::string::npos && name.find("base_layer") == std::string::npos,
              "save_gpt_nf4 {}: the model has LoRA parameter {} (HINT: save adapters with nn/lora_io.h, the base model without them)", dir,
              name);
    Tensor value = ag::detach(p).to(DType::f32);
    others.push_back({kPrefix + name, conv1d_weight(name) ? value.t() : value});  // Linear [out, in] -> Conv1D [in, out]
  }
  LAB_CHECK(others.size() + nf4.size() == size_t(4 + 12 * model.config().n_layer),
            "save_gpt_nf4 {}: the model has {} tensors, GPT-2 of {} layers has {} (HINT: layers replaced by something else than Linear4bit?)",
            dir, others.size() + nf4.size(), model.config().n_layer, 4 + 12 * model.config().n_layer);

  nlohmann::json config = json_io::parse(nn::gpt_config_json(model.config()));
  // transformers' BitsAndBytesConfig.to_dict(), as save_pretrained writes it for a 4-bit model
  config["quantization_config"] = {{"_load_in_4bit", true},
                                   {"_load_in_8bit", false},
                                   {"bnb_4bit_compute_dtype", "float32"},
                                   {"bnb_4bit_quant_storage", "uint8"},
                                   {"bnb_4bit_quant_type", "nf4"},
                                   {"bnb_4bit_use_double_quant", double_quant},
                                   {"llm_int8_enable_fp32_cpu_offload", false},
                                   {"llm_int8_has_fp16_weight", false},
                                   {"llm_int8_skip_modules", nullptr},
                                   {"llm_int8_threshold", 6.0},
                                   {"load_in_4bit", true},
                                   {"load_in_8bit", false},
                                   {"quant_method", "bitsandbytes"}};
  std::error_code ec;
  fs::create_directories(dir, ec);
  LAB_CHECK(fs::is_directory(dir), "save_gpt_nf4: cannot create the folder {}: {}", dir, ec ? ec.message() : "a file is in the way");
  write_file_atomically((fs::path(dir) / "config.json").string(), json_io::dump(config, 2) + "\n");
  save_nf4((fs::path(dir) / "model.safetensors").string(), weights, others);
}

std::shared_ptr<nn::GPT> load_gpt_nf4(const std::string& dir, Device device) {
  LAB_CHECK(fs::is_directory(dir), "load_gpt_nf4: {} is not a folder (HINT: an NF4 checkpoint is a folder with config.json and model.safetensors, "
            "as `loralab quantize` writes it)", dir);
  const nn::GPTConfig config = nn::load_gpt_config((fs::path(dir) / "config.json").string());
  const std::string path = (fs::path(dir) / "model.safetensors").string();
  LAB_CHECK(fs::exists(path), "{}: no such file (HINT: only single-file safetensors checkpoints load)", path);
  SafetensorsFile file = SafetensorsFile::open(path);

  Generator gen(0);  // every parameter is overwritten below
  auto model = std::make_shared<nn::GPT>(config, gen);
  model->to(device);

  // The NF4 weights first: each replaces the Linear it belongs to (its bias comes with the plain tensors).
  std::set<std::string> nf4_entries;  // every file entry that belongs to an NF4 weight
  for (const std::string& key : nf4_names(file)) {
    const std::string name = key.rfind(kPrefix, 0) == 0 ? key.substr(kPrefix.size()) : key;
    const std::string suffix = ".weight";
    LAB_CHECK(name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0,
              "{}: NF4 entry '{}' is not a weight (HINT: only the Linear weights of a GPT are quantized)", path, key);
    const std::string module_name = name.substr(0, name.size() - suffix.size());
    const size_t dot = module_name.rfind('.');
    LAB_CHECK(dot != std::string::npos && model->has_parameter(name), "{}: NF4 weight '{}' is not a layer of this GPT (config.json: {} layers)",
              path, key, config.n_layer);
    nn::Module* parent = nullptr;
    for (auto& [n, m] : model->named_modules())
      if (n == module_name.substr(0, dot)) parent = m;
    const std::string child = module_name.substr(dot + 1);
    auto* linear = parent ? dynamic_cast<nn::Linear*>(parent->child(child).get()) : nullptr;
    LAB_CHECK(linear != nullptr, "{}: NF4 weight '{}' belongs to '{}', which is not a Linear layer", path, key, module_name);
    NF4Tensor q = load_nf4(file, key, device);
    const Shape expected = {linear->out_features(), linear->in_features()};
    LAB_CHECK(q.shape == expected, "{}: expected NF4 weight {} of shape {} ([out, in], as bitsandbytes' Linear4bit), found {}{}", path, key,
              shape_str(expected), shape_str(q.shape),
              q.shape == Shape({expected[1], expected[0]}) ? " (HINT: this is Conv1D's [in, out]: transpose before quantizing)" : "");
    parent->replace_module(child, std::make_shared<Linear4bit>(std::move(q), linear->has_bias() ? linear->bias() : Tensor()));
    for (const char* s : {"", ".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map", ".quant_state.bitsandbytes__nf4"})
      nf4_entries.insert(key + s);
  }
  model->name_parameters();

  // Then every other tensor, strictly, by our parameter names.
  std::map<std::string, Tensor> tensors;
  for (const SafetensorsEntry& e : file.entries()) {
    if (nf4_entries.count(e.name)) continue;
    const std::string key = e.name.rfind(kPrefix, 0) == 0 ? e.name.substr(kPrefix.size()) : e.name;
    if (key == "lm_head.weight") continue;  // tied to wte
    LAB_CHECK(is_floating(e.dtype), "{}: {} has dtype {}, expected a floating-point one (f32, bf16, f16)", path, e.name, dtype_name(e.dtype));
    Tensor value = file.load(e.name).to(DType::f32);
    tensors[key] = conv1d_weight(key) && value.dim() == 2 ? value.t() : value;  // Conv1D [in, out] -> Linear [out, in]
  }
  model->load_state_dict(tensors, true, path);
  return model;
}

}  // namespace lab::quant
