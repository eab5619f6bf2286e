// save_gpt and load_gpt: our parameters <-> Hugging Face's GPT-2 folder (see gpt_checkpoint.h).
#include "nn/gpt_checkpoint.h"

#include "tensor/atomic_file.h"
#include "tensor/full_match.h"
#include "tensor/safetensors.h"

#include <filesystem>
#include <map>

namespace lab::nn {

namespace fs = std::filesystem;

namespace {

// One tensor of the HF layout: its name without "transformer.", its shape in the file, and whether
// it is a Conv1D weight (stored [in, out], the transpose of our Linear's [out, in]).
struct HFTensor {
  std::string name;
  Shape shape;
  bool conv1d = false;
};

std::vector<HFTensor> hf_layout(const GPTConfig& c) {
  const int64_t V = c.vocab_size, P = c.n_positions, C = c.n_embd, I = c.inner();
  std::vector<HFTensor> out = {{"wte.weight", {V, C}}, {"wpe.weight", {P, C}}};
  for (int64_t i = 0; i < c.n_layer; i++) {
    const std::string h = "h." + std::to_string(i) + ".";
    std::vector<HFTensor> block = {{h + "ln_1.weight", {C}},
                                   {h + "ln_1.bias", {C}},
                                   {h + "attn.c_attn.weight", {C, 3 * C}, true},
                                   {h + "attn.c_attn.bias", {3 * C}},
                                   {h + "attn.c_proj.weight", {C, C}, true},
                                   {h + "attn.c_proj.bias", {C}},
                                   {h + "ln_2.weight", {C}},
                                   {h + "ln_2.bias", {C}},
                                   {h + "mlp.c_fc.weight", {C, I}, true},
                                   {h + "mlp.c_fc.bias", {I}},
                                   {h + "mlp.c_proj.weight", {I, C}, true},
                                   {h + "mlp.c_proj.bias", {C}}};
    out.insert(out.end(), block.begin(), block.end());
  }
  out.push_back({"ln_f.weight", {C}});
  out.push_back({"ln_f.bias", {C}});
  return out;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string s;
  for (size_t i = 0; i < items.size(); i++) s += (i ? sep : "") + items[i];
  return s;
}

const std::string kPrefix = "transformer.";

}  // namespace

void save_gpt(const GPT& model, const std::string& dir) {
  std::vector<HFTensor> layout = hf_layout(model.config());
  NamedTensors tensors;
  for (const HFTensor& t : layout) {
    LAB_CHECK(model.has_parameter(t.name), "save_gpt {}: the model has no parameter {} (HINT: a model with LoRA layers: merge them first)",
              dir, t.name);
    const Tensor& p = model.parameter(t.name);
    // Conv1D: our Linear's [out, in] is written [in, out]
    tensors.push_back({kPrefix + t.name, (t.conv1d ? p.t() : p).to(DType::f32)});
  }
  const size_t extra = model.named_parameters().size() - layout.size();
  LAB_CHECK(extra == 0, "save_gpt {}: the model has {} parameters besides GPT-2's (HINT: merge LoRA layers first)", dir, extra);
  std::error_code ec;
  fs::create_directories(dir, ec);
  LAB_CHECK(fs::is_directory(dir), "save_gpt: cannot create the folder {}: {}", dir, ec ? ec.message() : "a file is in the way");
  write_file_atomically((fs::path(dir) / "config.json").string(), gpt_config_json(model.config()));
  save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

std::shared_ptr<GPT> load_gpt(const std::string& dir, Device device) {
  LAB_CHECK(fs::is_directory(dir), "load_gpt: {} is not a folder (HINT: a GPT-2 checkpoint is a folder with config.json and model.safetensors)",
            dir);
  const GPTConfig config = load_gpt_config((fs::path(dir) / "config.json").string());
  const std::string path = (fs::path(dir) / "model.safetensors").string();
  LAB_CHECK(fs::exists(path), "{}: no such file (HINT: only single-file safetensors checkpoints load; not pytorch_model.bin or shards)",
            path);
  SafetensorsFile file = SafetensorsFile::open(path);

  std::map<std::string, HFTensor> expected;
  for (const HFTensor& t : hf_layout(config)) expected[t.name] = t;
  static const FullMatch buffer(R"(h\.[0-9]+\.attn\.(bias|masked_bias))", "load_gpt: buffer names");
  std::map<std::string, Tensor> weights;  // by our parameter name, in our layout
  std::vector<std::string> unexpected, wrong;
  for (const SafetensorsEntry& e : file.entries()) {
    const std::string key = e.name.rfind(kPrefix, 0) == 0 ? e.name.substr(kPrefix.size()) : e.name;
    if (buffer(key)) continue;  // the causal mask and its fill value: buffers, not parameters
    if (key == "lm_head.weight") {  // tied to wte: only its shape must agree
      LAB_CHECK(e.shape == Shape({config.vocab_size, config.n_embd}), "{}: expected {} of shape {} (tied to wte.weight), found {}", path,
                e.name, shape_str({config.vocab_size, config.n_embd}), shape_str(e.shape));
      continue;
    }
    auto it = expected.find(key);
    if (it == expected.end()) {
      unexpected.push_back(e.name);
      continue;
    }
    LAB_CHECK(!weights.count(key), "{}: {} appears twice, with and without \"transformer.\"", path, key);
    LAB_CHECK(is_floating(e.dtype), "{}: {} has dtype {}, expected a floating-point one (f32, bf16, f16)", path, e.name, dtype_name(e.dtype));
    const HFTensor& t = it->second;
    if (e.shape != t.shape) {
      Shape reversed(t.shape.rbegin(), t.shape.rend());
      std::string hint = t.conv1d ? "GPT-2 checkpoints store Conv1D weights (c_attn, c_proj, c_fc) as [in, out]; this one is [out, in] as "
                                    "nn.Linear stores it: transpose it"
                                  : "this is the transpose of what GPT-2 stores";
      if (e.shape != reversed || t.shape.size() != 2) hint = "a checkpoint of another size? compare its config.json with the weights";
      wrong.push_back(fmt::format("expected {} of shape {}, found {} (HINT: {})", e.name, shape_str(t.shape), shape_str(e.shape), hint));
      continue;
    }
    Tensor value = file.load(e.name).to(DType::f32);  // bf16 / f16 / f64 -> f32
    weights[key] = t.conv1d ? value.t() : value;       // Conv1D [in, out] -> Linear [out, in]
  }
  LAB_CHECK(wrong.empty(), "{}: {}", path, join(wrong, "; "));
  std::vector<std::string> missing;
  for (const auto& [name, t] : expected)
    if (!weights.count(name)) missing.push_back(name);
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back(fmt::format("{} missing tensor(s): {}", missing.size(), join(missing, ", ")));
  if (!unexpected.empty()) parts.push_back(fmt::format("{} unexpected tensor(s): {}", unexpected.size(), join(unexpected, ", ")));
  LAB_CHECK(parts.empty(), "{}: {} (HINT: not a GPT-2 checkpoint of the shape config.json describes)", path, join(parts, "; "));

  Generator gen(0);  // every parameter is overwritten below
  auto model = std::make_shared<GPT>(config, gen);
  model->load_state_dict(weights, true, path);
  model->to(device);
  return model;
}

}  // namespace lab::nn
