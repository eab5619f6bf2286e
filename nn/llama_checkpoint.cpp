// load_llama, save_llama and the shard index (see llama_checkpoint.h).
#include "nn/llama_checkpoint.h"

#include "nn/config_json.h"
#include "tensor/atomic_file.h"
#include "tensor/full_match.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace lab::nn {

namespace fs = std::filesystem;

namespace {

using json = nlohmann::json;

std::string join(const std::vector<std::string>& items, const char* sep, size_t cap = 8) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < cap; i++) s += (i ? sep : "") + items[i];
  if (items.size() > cap) s += fmt::format("{}and {} more", sep, items.size() - cap);
  return s;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  LAB_CHECK(in, "{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Printable, and short: names come from the file.
std::string shown(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (uint8_t(c) < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", uint8_t(c)) : std::string(1, c);
  return s.size() > 200 ? out + "..." : out;
}

}  // namespace

ShardIndex parse_shard_index(const std::string& json_text, const std::string& source) {
  json j = json_io::parse(json_text, source);
  LAB_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
            "{}: expected an object with a \"weight_map\" object (tensor name -> shard file), as save_pretrained writes", source);
  ShardIndex index;
  std::set<std::string> shards;
  for (const auto& item : j["weight_map"].items()) {
    LAB_CHECK(item.value().is_string(), "{}: weight_map[\"{}\"] must be a shard file name, found {}", source, shown(item.key()),
              shown(json_io::dump(item.value())));
    const std::string file = item.value().get<std::string>();
    // a plain file name in the same folder: no separators, no "..", ending in .safetensors
    const bool plain = !file.empty() && file.find('/') == std::string::npos && file.find('\\') == std::string::npos && file != "." &&
                       file != ".." && file.find('\0') == std::string::npos && file.size() > 12 &&
                       file.compare(file.size() - 12, 12, ".safetensors") == 0;
    LAB_CHECK(plain, "{}: weight_map[\"{}\"] = \"{}\" is not a shard file name (expected a plain name ending in .safetensors, in the same folder)",
              source, shown(item.key()), shown(file));
    index.weight_map[item.key()] = file;
    shards.insert(file);
  }
  LAB_CHECK(!index.weight_map.empty(), "{}: weight_map is empty: the index lists no tensors", source);
  index.shards.assign(shards.begin(), shards.end());
  if (j.contains("metadata") && !j["metadata"].is_null()) {
    LAB_CHECK(j["metadata"].is_object(), "{}: metadata must be an object, got {}", source, shown(json_io::dump(j["metadata"])));
    const json& m = j["metadata"];
    if (m.contains("total_size") && !m["total_size"].is_null()) {
      const json& t = m["total_size"];
      // transformers writes an integer; some tools write a float with no fraction
      const bool ok = t.is_number_unsigned() || (t.is_number_integer() && t.get<int64_t>() >= 0) ||
                      (t.is_number_float() && t.get<double>() >= 0 && t.get<double>() < 1.8e19 && t.get<double>() == double(uint64_t(t.get<double>())));
      LAB_CHECK(ok, "{}: metadata.total_size must be a whole number of bytes, got {}", source, shown(json_io::dump(t)));
      index.total_size = t.is_number_float() ? uint64_t(t.get<double>()) : t.get<uint64_t>();
    }
  }
  return index;
}

CheckpointFiles checkpoint_files(const std::string& dir) {
  CheckpointFiles out;
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (fs::exists(index_path)) {
    out.index_path = index_path.string();
    out.index = parse_shard_index(read_text(out.index_path), out.index_path);
    for (const std::string& shard : out.index->shards) {
      const fs::path p = fs::path(dir) / shard;
      LAB_CHECK(fs::is_regular_file(p), "{}: shard {} is listed in weight_map but is not in the folder (HINT: download every shard)",
                out.index_path, shard);
      out.files.push_back(p.string());
    }
    return out;
  }
  LAB_CHECK(fs::is_regular_file(single),
            "{}: no such file, and no model.safetensors.index.json beside it (HINT: only safetensors checkpoints load; convert "
            "pytorch_model.bin with transformers' save_pretrained(safe_serialization=True))",
            single.string());
  out.files.push_back(single.string());
  return out;
}

namespace {

// Every tensor of the HF layout with its shape, by HF's name (= our parameter name).
std::map<std::string, Shape> llama_layout(const LlamaConfig& c) {
  const int64_t V = c.vocab_size, C = c.hidden_size, I = c.intermediate_size, Q = c.num_attention_heads * c.hd(),
                KV = c.num_key_value_heads * c.hd();
  std::map<std::string, Shape> out = {{"model.embed_tokens.weight", {V, C}}, {"model.norm.weight", {C}}};
  if (!c.tie_word_embeddings) out["lm_head.weight"] = {V, C};
  for (int64_t i = 0; i < c.num_hidden_layers; i++) {
    const std::string l = "model.layers." + std::to_string(i) + ".";
    out[l + "input_layernorm.weight"] = {C};
    out[l + "post_attention_layernorm.weight"] = {C};
    out[l + "self_attn.q_proj.weight"] = {Q, C};
    out[l + "self_attn.k_proj.weight"] = {KV, C};
    out[l + "self_attn.v_proj.weight"] = {KV, C};
    out[l + "self_attn.o_proj.weight"] = {C, Q};
    out[l + "mlp.gate_proj.weight"] = {I, C};
    out[l + "mlp.up_proj.weight"] = {I, C};
    out[l + "mlp.down_proj.weight"] = {C, I};
  }
  return out;
}

}  // namespace

std::shared_ptr<Llama> load_llama(const std::string& dir, Device device) {
  LAB_CHECK(fs::is_directory(dir), "load_llama: {} is not a folder (HINT: a LLaMA checkpoint is a folder with config.json and model.safetensors)",
            dir);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const LlamaConfig config = load_llama_config(config_path);
  const CheckpointFiles files = checkpoint_files(dir);
  const std::map<std::string, Shape> expected = llama_layout(config);
  static const FullMatch buffer(R"(model\.layers\.[0-9]+\.self_attn\.rotary_emb\.inv_freq)", "load_llama: buffer names");

  std::map<std::string, Tensor> weights;
  std::vector<std::string> unexpected, wrong;
  for (const std::string& path : files.files) {
    SafetensorsFile file = SafetensorsFile::open(path);
    const std::string shard = fs::path(path).filename().string();
    for (const SafetensorsEntry& e : file.entries()) {
      if (buffer(e.name)) continue;
      if (files.index) {
        auto at = files.index->weight_map.find(e.name);
        LAB_CHECK(at == files.index->weight_map.end() || at->second == shard, "{}: {} is in {}, but the index puts it in {}",
                  files.index_path, e.name, shard, at->second);
      }
      if (e.name == "lm_head.weight" && config.tie_word_embeddings) {  // tied to embed_tokens: only its shape must agree
        LAB_CHECK(e.shape == Shape({config.vocab_size, config.hidden_size}), "{}: expected {} of shape {} (tied to model.embed_tokens.weight), found {}",
                  path, e.name, shape_str({config.vocab_size, config.hidden_size}), shape_str(e.shape));
        continue;
      }
      auto it = expected.find(e.name);
      if (it == expected.end()) {
        unexpected.push_back(shown(e.name));
        continue;
      }
      LAB_CHECK(!weights.count(e.name), "{}: {} appears in two shards", dir, e.name);
      LAB_CHECK(is_floating(e.dtype), "{}: {} has dtype {}, expected a floating-point one (f32, bf16, f16)", path, e.name, dtype_name(e.dtype));
      if (e.shape != it->second) {
        wrong.push_back(fmt::format("expected {} of shape {}, found {} (HINT: a checkpoint of another size? compare its config.json with the weights)",
                                    e.name, shape_str(it->second), shape_str(e.shape)));
        continue;
      }
      weights[e.name] = file.load(e.name).to(DType::f32);  // bf16 / f16 / f64 -> f32
    }
  }
  LAB_CHECK(wrong.empty(), "{}: {}", dir, join(wrong, "; "));
  if (files.index)
    for (const auto& [name, shard] : files.index->weight_map)
      LAB_CHECK(weights.count(name) || !expected.count(name), "{}: {} is listed in {} but that shard does not hold it", files.index_path, name,
                shard);
  std::vector<std::string> missing;
  for (const auto& [name, shape] : expected)
    if (!weights.count(name)) missing.push_back(name);
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back(fmt::format("{} missing tensor(s): {}", missing.size(), join(missing, ", ")));
  if (!unexpected.empty()) parts.push_back(fmt::format("{} unexpected tensor(s): {}", unexpected.size(), join(unexpected, ", ")));
  LAB_CHECK(parts.empty(), "{}: {} (HINT: not a LLaMA checkpoint of the shape config.json describes{})", dir, join(parts, "; "),
            !config.tie_word_embeddings && missing.size() == 1 && missing[0] == "lm_head.weight" ? "; no lm_head.weight: should tie_word_embeddings be true?" : "");

  Generator gen(0);  // every parameter is overwritten below
  auto model = std::make_shared<Llama>(config, gen);
  model->load_state_dict(weights, true, dir);
  model->to(device);
  return model;
}

namespace {

// save_pretrained's split (huggingface_hub split_state_dict_into_shards_factory): tensors in the
// model's order; one that would take the current shard past max_bytes starts the next, and one larger
// than max_bytes is a shard of its own.
std::vector<NamedTensors> split_into_shards(const NamedTensors& tensors, uint64_t max_bytes) {
  std::vector<NamedTensors> shards;
  NamedTensors current;
  uint64_t current_bytes = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = t.nbytes();
    if (bytes > max_bytes) {
      shards.push_back({{name, t}});
      continue;
    }
    if (current_bytes + bytes > max_bytes && !current.empty()) {
      shards.push_back(std::move(current));
      current = {};
      current_bytes = 0;
    }
    current.push_back({name, t});
    current_bytes += bytes;
  }
  if (!current.empty()) shards.push_back(std::move(current));
  return shards;
}

// The shard files of an earlier save ("model-00002-of-00003.safetensors") not in `keep`: removed
// once the new weights are in place, so that no file of another save is left to be mistaken for this one's.
void remove_other_shards(const std::string& dir, const std::set<std::string>& keep) {
  static const FullMatch shard_name(R"(model-[0-9]{5}-of-[0-9]{5}\.safetensors)", "shard file names");
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && shard_name(name) && !keep.count(name)) stale.push_back(e.path());
  }
  for (const fs::path& p : stale) fs::remove(p);
}

}  // namespace

void save_llama(const Llama& model, const std::string& dir, uint64_t max_shard_bytes) {
  LAB_CHECK(max_shard_bytes > 0, "save_llama {}: max_shard_bytes must be positive (HINT: {} is Hugging Face's 5GB)", dir, kDefaultMaxShardBytes);
  const std::map<std::string, Shape> layout = llama_layout(model.config());
  for (const auto& [name, shape] : layout)
    LAB_CHECK(model.has_parameter(name), "save_llama {}: the model has no parameter {} (HINT: a model with LoRA layers: merge them first)", dir,
              name);
  const size_t extra = model.named_parameters().size() - layout.size();
  LAB_CHECK(extra == 0, "save_llama {}: the model has {} parameters besides LLaMA's (HINT: merge LoRA layers first)", dir, extra);
  NamedTensors tensors;  // in the model's (= LlamaForCausalLM's) order, which decides the split as in transformers
  uint64_t total = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    tensors.push_back({name, p.to(DType::f32)});
    total += tensors.back().second.nbytes();
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  LAB_CHECK(fs::is_directory(dir), "save_llama: cannot create the folder {}: {}", dir, ec ? ec.message() : "a file is in the way");
  write_file_atomically((fs::path(dir) / "config.json").string(), model.config_json());
  const fs::path single = fs::path(dir) / "model.safetensors", index_path = fs::path(dir) / "model.safetensors.index.json";

  const std::vector<NamedTensors> shards = split_into_shards(tensors, max_shard_bytes);
  if (shards.size() == 1) {
    // one file; an index of an earlier sharded save would be read instead of it, so it goes next
    save_safetensors(single.string(), tensors, {{"format", "pt"}});
    fs::remove(index_path);
    remove_other_shards(dir, {});
    return;
  }
  // Sharded. The index is what makes the shards a checkpoint: an earlier one goes first, so that a save
  // cut short leaves no index naming a mix of old and new shards; the new one is written last.
  fs::remove(index_path);
  json weight_map = json::object();
  std::set<std::string> names;
  for (size_t i = 0; i < shards.size(); i++) {
    const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    save_safetensors((fs::path(dir) / name).string(), shards[i], {{"format", "pt"}});
    for (const auto& [tensor, t] : shards[i]) weight_map[tensor] = name;
    names.insert(name);
  }
  json index;  // as transformers writes it: json.dumps(index, indent=2, sort_keys=True) + "\n"
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = weight_map;
  write_file_atomically(index_path.string(), json_io::dump(index, 2) + "\n");
  fs::remove(single);
  remove_other_shards(dir, names);
}

}  // namespace lab::nn
