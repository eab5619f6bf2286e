// Adapter files (see lora_io.h): adapter_config.json <-> AdapterConfig, LoRALinear weights <->
// adapter_model.safetensors with PEFT's key names, and merge_and_unload.
//
// Which modules an adapter file covers is decided as PEFT decides it (check_target_module_exists):
// on the module's name in the Hugging Face model (GPT2LMHeadModel's "transformer.h.0.attn.c_attn",
// LlamaForCausalLM's "model.layers.0.self_attn.q_proj"), the list form by suffix, the regex form by a
// full match, null by the model type's default list (_prepare_adapter_config). The modules found are
// then given to inject_lora by their exact names, so that our naming and PEFT's never have to agree
// on a pattern.
// Not here: the layer (lora.cpp), matching for inject_lora itself (lora_inject.cpp).
#include "nn/lora_io.h"

#include "nn/causal_lm.h"
#include "nn/config_json.h"
#include "nn/gpt.h"
#include "tensor/atomic_file.h"
#include "tensor/error.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

namespace lab::nn {

namespace fs = std::filesystem;

namespace {

using json = nlohmann::json;

const char* const kConfigFile = "adapter_config.json";
const char* const kWeightsFile = "adapter_model.safetensors";
const std::string kKeyPrefix = "base_model.model.";  // PeftModel.base_model (LoraModel) .model (the HF model)

// --- adapter_config.json fields

void read_bool_or_null(const json& j, const std::string& source, const char* name, bool* out) {
  if (!j.contains(name) || j[name].is_null()) return;
  LAB_CHECK(j[name].is_boolean(), "{}: {} must be true or false, got {}", source, name, json_io::dump(j[name]));
  *out = j[name].get<bool>();
}

void read_number(const json& j, const std::string& source, const char* name, double* out) {
  if (!j.contains(name)) return;
  LAB_CHECK(j[name].is_number(), "{}: {} must be a number, got {}", source, name, json_io::dump(j[name]));
  *out = j[name].get<double>();
}

void read_string(const json& j, const std::string& source, const char* name, std::string* out) {
  if (!j.contains(name) || j[name].is_null()) return;
  LAB_CHECK(j[name].is_string(), "{}: {} must be a string or null, got {}", source, name, json_io::dump(j[name]));
  *out = j[name].get<std::string>();
}

// A PEFT feature loralab does not have: allowed only at its "off" value (null, false, {}, [] or "").
void require_unused(const json& j, const std::string& source, const char* name, const char* what) {
  if (!j.contains(name)) return;
  const json& v = j[name];
  const bool off = v.is_null() || (v.is_boolean() && !v.get<bool>()) || ((v.is_object() || v.is_array() || v.is_string()) && v.empty());
  LAB_CHECK(off, "{}: {} = {} is not supported: {} (HINT: loralab reads plain LoRA adapters only)", source, name, json_io::dump(v), what);
}

// --- which modules an adapter covers

// The name PEFT sees for our module: GPT2LMHeadModel keeps the blocks under "transformer."; any
// other model is taken to be named as its Hugging Face counterpart already.
std::string hf_prefix(const Module& model) { return dynamic_cast<const GPT*>(&model) != nullptr ? "transformer." : ""; }

// A module LoRA can wrap, as inject_lora finds them: a Linear-like UnaryModule, or a LoRALinear (the
// modules inside a LoRALinear are not candidates).
struct Candidate {
  std::string name;
  int64_t in = 0, out = 0;
  LoRALinear* lora = nullptr;
};

std::vector<Candidate> candidates(const Module& model) {
  std::vector<Candidate> out;
  std::vector<std::string> inside;
  for (const auto& [name, m] : const_cast<Module&>(model).named_modules()) {
    if (name.empty()) continue;
    bool skip = false;
    for (const std::string& p : inside) skip = skip || name.compare(0, p.size() + 1, p + ".") == 0;
    if (skip) continue;
    if (auto* lora = dynamic_cast<LoRALinear*>(m)) {
      inside.push_back(name);
      out.push_back({name, lora->in_features(), lora->out_features(), lora});
    } else if (auto io = in_out_features(*m); io && dynamic_cast<UnaryModule*>(m) != nullptr) {
      out.push_back({name, io->first, io->second, nullptr});
    }
  }
  return out;
}

std::vector<std::string> selected_names(const std::vector<Candidate>& cands, const LoraConfig& c, const std::string& prefix) {
  const auto targets = c.target_matcher();
  std::vector<std::string> names;
  for (const Candidate& k : cands)
    if (targets(prefix + k.name)) names.push_back(k.name);
  return names;
}

std::string targets_json(const LoraConfig& c) {
  if (!c.target_regex.empty()) return fmt::format("\"{}\"", c.target_regex);
  std::vector<std::string> quoted;
  for (const std::string& t : c.target_modules) quoted.push_back(fmt::format("\"{}\"", t));
  return fmt::format("[{}]", name_list(quoted, 100));
}

// A regex that matches exactly `s`.
std::string regex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') out += '\\';
    out += ch;
  }
  return out;
}

bool same_scaling(double a, double b) { return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b)); }

std::string read_text(const std::string& path, const char* what) {
  std::error_code ec;
  LAB_CHECK(fs::exists(path, ec), "{}: no such file (HINT: {})", path, what);
  LAB_CHECK(!fs::is_directory(path, ec), "{}: is a folder, expected a file", path);
  std::ifstream in(path, std::ios::binary);
  LAB_CHECK(in.good(), "{}: cannot open for reading", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The model type whose PEFT default a null target_modules stands for: the family of a CausalLM.
std::string model_type_for_defaults(const Module& model) {
  if (auto* lm = dynamic_cast<const CausalLM*>(&model)) return lm->family();
  return "gpt2";  // the small GPT-like test models, named as GPT-2's blocks
}

// PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (utils/constants.py), for the model types
// loralab loads; empty for any other.
std::vector<std::string> known_default_targets(const std::string& model_type) {
  if (model_type == "gpt2") return {"c_attn"};
  if (model_type == "llama") return {"q_proj", "v_proj"};
  return {};
}

void check_known_default(const std::vector<std::string>& targets, const std::string& source, const std::string& model_type) {
  LAB_CHECK(!targets.empty(),
            "{}: target_modules is null, so PEFT would use the default of model_type \"{}\", which loralab does not know "
            "(HINT: list target_modules in adapter_config.json; loralab knows the defaults of \"gpt2\" and \"llama\")",
            source, model_type);
}

}  // namespace

std::vector<std::string> peft_default_targets(const std::string& model_type) {
  std::vector<std::string> targets = known_default_targets(model_type);
  check_known_default(targets, "peft_default_targets", model_type);
  return targets;
}

AdapterConfig parse_adapter_config(const std::string& json_text, const std::string& source, const std::string& model_type) {
  json j = config_json::parse_object(json_text, source, "an adapter_config.json");
  // PEFT's one required key (MIN_EXPECTED_CONFIG_KEYS)
  LAB_CHECK(j.contains("peft_type"), "{}: no peft_type (HINT: PEFT writes \"peft_type\": \"LORA\" in every adapter_config.json)", source);
  LAB_CHECK(j["peft_type"] == "LORA", "{}: peft_type is {}, only \"LORA\" adapters load here", source, json_io::dump(j["peft_type"]));

  AdapterConfig c;  // PEFT's LoraConfig defaults: r 8, lora_alpha 8, dropout 0, bias "none"; targets below
  c.task_type.clear();
  if (j.contains("r")) {
    const json& r = j["r"];
    const bool fits = r.is_number_integer() && (r.is_number_unsigned() ? r.get<uint64_t>() <= uint64_t(std::numeric_limits<int32_t>::max())
                                                                        : r.get<int64_t>() <= std::numeric_limits<int32_t>::max());
    LAB_CHECK(fits, "{}: r must be a whole number of at most {}, got {}", source, std::numeric_limits<int32_t>::max(), json_io::dump(r));
    c.lora.r = r.get<int64_t>();
  }
  read_number(j, source, "lora_alpha", &c.lora.lora_alpha);
  read_number(j, source, "lora_dropout", &c.lora.lora_dropout);
  read_bool_or_null(j, source, "use_rslora", &c.lora.use_rslora);
  read_bool_or_null(j, source, "fan_in_fan_out", &c.fan_in_fan_out);
  read_string(j, source, "bias", &c.lora.bias);
  read_string(j, source, "base_model_name_or_path", &c.base_model_name_or_path);
  read_string(j, source, "task_type", &c.task_type);
  if (j.contains("inference_mode")) {
    bool ignored = false;  // PEFT sets it on load; it says nothing about the weights
    read_bool_or_null(j, source, "inference_mode", &ignored);
  }
  LAB_CHECK(c.task_type.empty() || c.task_type == "CAUSAL_LM",
            "{}: task_type \"{}\" is not supported, only \"CAUSAL_LM\" (or null) (HINT: loralab's GPT is a causal language model)",
            source, c.task_type);

  if (!j.contains("target_modules") || j["target_modules"].is_null()) {  // null: the model type's default, as PEFT's _prepare_adapter_config
    c.lora.target_modules = known_default_targets(model_type);
    check_known_default(c.lora.target_modules, source, model_type);
    c.default_targets = true;
  } else {
    const json& t = j["target_modules"];
    if (t.is_string()) {  // PEFT's regex form, re.fullmatch on each module name
      const std::string s = t.get<std::string>();
      LAB_CHECK(!s.empty(), "{}: target_modules is an empty string (HINT: a list of module names, or a regex matching whole names)", source);
      LAB_CHECK(s != "all-linear",
                "{}: target_modules \"all-linear\" is not supported (HINT: PEFT expands it to the list of Linear layers before saving; "
                "list them, e.g. [\"c_attn\", \"c_proj\", \"c_fc\"])",
                source);
      c.lora.target_regex = s;
      c.lora.target_modules.clear();
    } else {
      LAB_CHECK(t.is_array(), "{}: target_modules must be a list of module names, a regex string or null, got {}", source, json_io::dump(t));
      c.lora.target_modules.clear();
      for (const json& name : t) {
        LAB_CHECK(name.is_string(), "{}: target_modules must hold module names (strings), got {}", source, json_io::dump(name));
        c.lora.target_modules.push_back(name.get<std::string>());
      }
    }
  }

  // PEFT features loralab does not have, and what each is: each must be absent or at its unused value.
  static const std::pair<const char*, const char*> unused[] = {
      {"rank_pattern", "a rank per module"},
      {"alpha_pattern", "an alpha per module"},
      {"layers_to_transform", "LoRA on some layers only"},
      {"layers_pattern", "LoRA on some layers only"},
      {"modules_to_save", "whole modules trained and saved beside the adapter"},
      {"exclude_modules", "modules excluded from the targets"},
      {"layer_replication", "replicated layers"},
      {"target_parameters", "LoRA on bare parameters"},
      {"trainable_token_indices", "trainable token embeddings"},
      {"use_dora", "DoRA keeps a magnitude vector per layer"},
      {"lora_bias", "a bias on lora_B"},
      {"use_qalora", "QALoRA's pooled input"},
  };
  for (const auto& [name, what] : unused) require_unused(j, source, name, what);
  c.lora.validate(source);
  return c;
}

std::string adapter_config_json(const AdapterConfig& c) {
  json j;  // std::map underneath: sorted keys, as PEFT's json.dumps(sort_keys=True)
  const double alpha = c.lora.lora_alpha;
  const bool whole = std::isfinite(alpha) && alpha == std::floor(alpha) && std::abs(alpha) < 1e15;
  j["alpha_pattern"] = json::object();
  j["base_model_name_or_path"] = c.base_model_name_or_path.empty() ? json(nullptr) : json(c.base_model_name_or_path);
  j["bias"] = c.lora.bias;
  j["fan_in_fan_out"] = c.fan_in_fan_out;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["lora_alpha"] = whole ? json(int64_t(alpha)) : json(alpha);  // PEFT writes 8, not 8.0, for an int alpha
  j["lora_dropout"] = c.lora.lora_dropout;
  j["modules_to_save"] = nullptr;
  j["peft_type"] = "LORA";
  j["r"] = c.lora.r;
  j["rank_pattern"] = json::object();
  j["revision"] = nullptr;
  j["target_modules"] = c.lora.target_regex.empty() ? json(c.lora.target_modules) : json(c.lora.target_regex);
  j["task_type"] = c.task_type.empty() ? json(nullptr) : json(c.task_type);
  j["use_dora"] = false;
  j["use_rslora"] = c.lora.use_rslora;
  return json_io::dump(j, 2) + "\n";
}

void save_adapter(const Module& model, const AdapterConfig& config, const std::string& dir, const std::string& adapter) {
  const std::string what = fmt::format("save_adapter {}", dir);
  config.lora.validate(what);
  const std::string prefix = hf_prefix(model);
  const std::vector<Candidate> cands = candidates(model);
  std::vector<std::string> wrapped;
  NamedTensors tensors;
  for (const Candidate& k : cands) {
    if (k.lora == nullptr || !k.lora->has_adapter(adapter)) continue;
    wrapped.push_back(k.name);
    LAB_CHECK(k.lora->r(adapter) == config.lora.r, "{}: '{}' has adapter '{}' of rank {}, but the config says r = {}", what, k.name, adapter,
              k.lora->r(adapter), config.lora.r);
    LAB_CHECK(same_scaling(k.lora->scaling(adapter), config.lora.scaling()),
              "{}: '{}' has adapter '{}' with scaling {}, but the config's lora_alpha {} and r {}{} give {}", what, k.name, adapter,
              k.lora->scaling(adapter), config.lora.lora_alpha, config.lora.r, config.lora.use_rslora ? " (rsLoRA)" : "",
              config.lora.scaling());
    const std::string key = kKeyPrefix + prefix + k.name;
    tensors.push_back({key + ".lora_A.weight", k.lora->lora_A(adapter).to(DType::f32)});  // [r, in]
    tensors.push_back({key + ".lora_B.weight", k.lora->lora_B(adapter).to(DType::f32)});  // [out, r]
  }
  LAB_CHECK(!wrapped.empty(), "{}: the model has no LoRA layers with an adapter named '{}' (HINT: inject_lora first)", what, adapter);

  // The file must select, by PEFT's rule on PEFT's names, exactly the layers that hold the adapter.
  AdapterConfig written = config;
  if (!config.lora.target_regex.empty() && !prefix.empty() && selected_names(cands, config.lora, prefix) != wrapped &&
      selected_names(cands, config.lora, "") == wrapped)
    written.lora.target_regex = regex_escape(prefix) + "(?:" + config.lora.target_regex + ")";  // a regex on our names
  const std::vector<std::string> selected = selected_names(cands, written.lora, prefix);
  LAB_CHECK(selected == wrapped,
            "{}: target_modules {} selects {} in PEFT's naming, but adapter '{}' is on {} (HINT: PEFT would wrap what the config selects; "
            "give the target_modules that inject_lora was given)",
            what, targets_json(written.lora), name_list(selected), adapter, name_list(wrapped));

  std::error_code ec;
  fs::create_directories(dir, ec);
  LAB_CHECK(fs::is_directory(dir), "{}: cannot create the folder: {}", what, ec ? ec.message() : "a file is in the way");
  save_safetensors((fs::path(dir) / kWeightsFile).string(), tensors, {{"format", "pt"}});
  write_file_atomically((fs::path(dir) / kConfigFile).string(), adapter_config_json(written));
}

AdapterConfig load_adapter(Module& model, const std::string& dir, Generator& gen, const std::string& adapter) {
  LAB_CHECK(fs::is_directory(dir), "load_adapter: {} is not a folder (HINT: an adapter is a folder with {} and {}, as PEFT's save_pretrained "
            "writes it)", dir, kConfigFile, kWeightsFile);
  const std::string config_path = (fs::path(dir) / kConfigFile).string();
  const AdapterConfig config = parse_adapter_config(
      read_text(config_path, "an adapter folder holds adapter_config.json and adapter_model.safetensors"), config_path, model_type_for_defaults(model));
  const std::string path = (fs::path(dir) / kWeightsFile).string();
  std::error_code ec;
  LAB_CHECK(fs::exists(path, ec), "{}: no such file (HINT: only safetensors adapters load; not PEFT's adapter_model.bin, a pickle)", path);
  SafetensorsFile file = SafetensorsFile::open(path);

  // 1. The layers the file is for: those that hold `adapter` already, or those its targets select.
  const std::string prefix = hf_prefix(model);
  const std::vector<Candidate> cands = candidates(model);
  std::vector<const Candidate*> layers;
  for (const Candidate& k : cands)
    if (k.lora != nullptr && k.lora->has_adapter(adapter)) layers.push_back(&k);
  const bool inject = layers.empty();
  if (inject) {
    const auto targets = config.lora.target_matcher();
    for (const Candidate& k : cands)
      if (targets(prefix + k.name)) layers.push_back(&k);
    if (layers.empty()) {
      std::vector<std::string> linear;
      for (const Candidate& k : cands) linear.push_back(prefix + k.name);
      const bool ours = !config.lora.target_regex.empty() && !selected_names(cands, config.lora, "").empty();
      LAB_FAIL("{}: target_modules {} selects none of the model's Linear layers: {}{}", config_path, targets_json(config.lora),
               name_list(linear),
               ours ? fmt::format(" (HINT: PEFT matches the regex against the whole name, such as {}; write \"{}(?:...)\")",
                                  prefix + cands.front().name, regex_escape(prefix))
                    : " (HINT: a list entry matches a name that equals it or ends with '.' + it)");
    }
  } else {
    for (const Candidate* k : layers) {
      LAB_CHECK(!k->lora->merged(), "load_adapter {}: '{}' has an adapter merged into its base weight (HINT: unmerge_lora first)", dir,
                k->name);
      LAB_CHECK(k->lora->r(adapter) == config.lora.r, "{}: r is {}, but adapter '{}' of '{}' has rank {} (HINT: load into a fresh model)",
                config_path, config.lora.r, adapter, k->name, k->lora->r(adapter));
      LAB_CHECK(same_scaling(k->lora->scaling(adapter), config.lora.scaling()),
                "{}: lora_alpha {} and r {}{} give scaling {}, but adapter '{}' of '{}' has {} (HINT: load into a fresh model)", config_path,
                config.lora.lora_alpha, config.lora.r, config.lora.use_rslora ? " (rsLoRA)" : "", config.lora.scaling(), adapter, k->name,
                k->lora->scaling(adapter));
    }
  }

  // 2. The file holds exactly their A and B, in shapes they take: checked before the model changes.
  struct Want {
    std::string param;  // our parameter name
    Shape shape;
  };
  std::map<std::string, Want> want;  // by PEFT's key
  for (const Candidate* k : layers) {
    const std::string key = kKeyPrefix + prefix + k->name;
    want[key + ".lora_A.weight"] = {k->name + ".lora_A." + adapter + ".weight", {config.lora.r, k->in}};
    want[key + ".lora_B.weight"] = {k->name + ".lora_B." + adapter + ".weight", {k->out, config.lora.r}};
  }
  std::vector<std::string> unexpected, wrong, missing;
  std::set<std::string> seen;
  for (const SafetensorsEntry& e : file.entries()) {
    auto it = want.find(e.name);
    if (it == want.end()) {
      unexpected.push_back(e.name);
      continue;
    }
    seen.insert(e.name);
    LAB_CHECK(is_floating(e.dtype), "{}: {} has dtype {}, expected a floating-point one (f32, bf16, f16)", path, e.name, dtype_name(e.dtype));
    if (e.shape != it->second.shape) {
      const bool a = e.name.ends_with(".lora_A.weight");
      const int64_t file_r = e.shape.size() == 2 ? e.shape[a ? 0 : 1] : -1;
      wrong.push_back(fmt::format("expected {} of shape {}, found {} (HINT: {})", e.name, shape_str(it->second.shape), shape_str(e.shape),
                                  file_r != config.lora.r && file_r > 0
                                      ? fmt::format("its rank is {} but adapter_config.json says r = {}", file_r, config.lora.r)
                                      : std::string(a ? "lora_A is [r, in_features]" : "lora_B is [out_features, r]") +
                                            ": an adapter for another base model?"));
    }
  }
  for (const auto& [key, w] : want)
    if (!seen.count(key)) missing.push_back(key);
  LAB_CHECK(wrong.empty(), "{}: {}", path, name_list(wrong, 4));
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back(fmt::format("{} missing tensor(s): {}", missing.size(), name_list(missing)));
  if (!unexpected.empty()) parts.push_back(fmt::format("{} unexpected tensor(s): {}", unexpected.size(), name_list(unexpected)));
  LAB_CHECK(parts.empty(),
            "{}: {} (HINT: target_modules {} selects {} layers here, each with {}.lora_A.weight and .lora_B.weight; PEFT's keys have no "
            "adapter name)",
            path, parts.size() == 2 ? parts[0] + "; " + parts[1] : parts[0], targets_json(config.lora), layers.size(), kKeyPrefix + prefix + layers.front()->name);

  // 3. Wrap (by exact names: the selection above, whatever the naming) and copy.
  if (inject) {
    LoraConfig exact = config.lora;
    exact.target_modules.clear();
    exact.target_regex.clear();
    for (const Candidate* k : layers) {
      if (!exact.target_regex.empty()) exact.target_regex += '|';
      exact.target_regex += regex_escape(k->name);
    }
    inject_lora(model, exact, gen, adapter);
  }
  std::map<std::string, Tensor> values;
  for (const auto& [key, w] : want) values[w.param] = file.load(key);
  const LoadReport report = model.load_state_dict(values, /*strict=*/false, path);
  LAB_ASSERT(report.unexpected.empty());
  return config;
}

std::vector<std::string> merge_and_unload(Module& model) {
  std::vector<std::pair<std::string, LoRALinear*>> layers;
  for (const Candidate& k : candidates(model))
    if (k.lora != nullptr) layers.push_back({k.name, k.lora});
  LAB_CHECK(!layers.empty(), "merge_and_unload: the model has no LoRA layers (HINT: load_adapter or inject_lora first)");
  size_t done = 0;  // merge every layer not merged yet, all or nothing
  std::vector<LoRALinear*> merged_here;
  try {
    for (; done < layers.size(); done++)
      if (!layers[done].second->merged()) {
        layers[done].second->merge();
        merged_here.push_back(layers[done].second);
      }
  } catch (...) {
    for (LoRALinear* l : merged_here) l->unmerge();
    throw;
  }
  std::vector<std::string> names;
  for (const auto& [name, lora] : layers) {
    const size_t dot = name.rfind('.');
    Module& parent = dot == std::string::npos ? model : *model.child(name.substr(0, dot));
    parent.replace_module(dot == std::string::npos ? name : name.substr(dot + 1), lora->child("base_layer"));
    names.push_back(name);
  }
  model.name_parameters();
  return names;
}

}  // namespace lab::nn
