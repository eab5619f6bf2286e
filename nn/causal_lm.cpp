// CausalLM's shared loss, and the family-neutral loader and saver (see causal_lm.h).
#include "nn/causal_lm.h"

#include "autograd/ops.h"
#include "nn/gpt_checkpoint.h"
#include "nn/llama_checkpoint.h"
#include "tensor/json_io.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace lab::nn {

namespace fs = std::filesystem;

Tensor CausalLM::loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index) {
  LAB_CHECK(targets.shape() == ids.shape(), "{}::loss: targets of shape {} do not match ids of shape {}", family(), shape_str(targets.shape()),
            shape_str(ids.shape()));
  LAB_CHECK(targets.dtype() == DType::i64, "{}::loss: targets must be i64, got {}", family(), dtype_name(targets.dtype()));
  Tensor logits = forward(ids);
  const int64_t V = vocab_size();
  return ag::cross_entropy(ag::reshape(logits, {ids.numel(), V}), targets.reshape({ids.numel()}).to(logits.device()), ignore_index);
}

Device CausalLM::device() const {
  const NamedTensors params = named_parameters();
  LAB_ASSERT(!params.empty());
  return params.front().second.device();
}

std::string model_type_of(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  LAB_CHECK(fs::is_regular_file(path), "{}: no such file (HINT: a Hugging Face checkpoint folder holds config.json and model.safetensors)", path);
  const nlohmann::json j = json_io::read_file(path);
  LAB_CHECK(j.is_object(), "{}: a config.json must be a JSON object, got {}", path, j.type_name());
  if (!j.contains("model_type")) return "gpt2";
  LAB_CHECK(j["model_type"].is_string(), "{}: model_type must be a string, got {}", path, json_io::dump(j["model_type"]));
  return j["model_type"].get<std::string>();
}

std::shared_ptr<CausalLM> load_causal_lm(const std::string& dir, Device device) {
  const std::string type = model_type_of(dir);
  if (type == "gpt2") return load_gpt(dir, device);
  if (type == "llama") return load_llama(dir, device);
  LAB_FAIL("{}/config.json: model_type \"{}\" is not one loralab knows (HINT: GPT-2 (\"gpt2\") and LLaMA-architecture (\"llama\": SmolLM, "
           "TinyLlama, ...) checkpoints load)", dir, type);
}

void save_causal_lm(const CausalLM& model, const std::string& dir, uint64_t max_shard_bytes) {
  if (auto* gpt = dynamic_cast<const GPT*>(&model)) return save_gpt(*gpt, dir);
  if (auto* llama = dynamic_cast<const Llama*>(&model)) return save_llama(*llama, dir, max_shard_bytes);
  LAB_FAIL("save_causal_lm {}: a model of family {} has no checkpoint writer", dir, model.family());
}

}  // namespace lab::nn
