// Training checkpoints: see checkpoint.h.
#include "nn/checkpoint.h"

#include <charconv>

namespace lab::nn {

void save_training_state(const std::string& path, const NamedTensors& model, const NamedTensors& optimizer, int64_t step,
                         const std::map<std::string, std::string>& metadata) {
  LAB_CHECK(metadata.count("step") == 0, "save_training_state {}: 'step' is the checkpoint's own metadata key", path);
  NamedTensors all;
  for (const auto& [name, t] : model) all.push_back({"model." + name, t});
  for (const auto& [name, t] : optimizer) all.push_back({"optimizer." + name, t});
  std::map<std::string, std::string> meta = metadata;
  meta["step"] = std::to_string(step);
  save_safetensors(path, all, meta);
}

TrainingState load_training_state(const std::string& path) {
  SafetensorsFile file = SafetensorsFile::open(path);
  TrainingState state;
  state.metadata = file.metadata();
  auto step = state.metadata.find("step");
  LAB_CHECK(step != state.metadata.end(), "{}: not a training checkpoint: no 'step' in its metadata", path);
  const std::string& text = step->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), state.step);
  LAB_CHECK(ec == std::errc() && end == text.data() + text.size() && state.step >= 0,
            "{}: the checkpoint's step '{}' is not a non-negative whole number", path, text);
  state.metadata.erase(step);
  for (const std::string& name : file.names()) {
    if (name.rfind("model.", 0) == 0) state.model[name.substr(6)] = file.load(name);
    else if (name.rfind("optimizer.", 0) == 0) state.optimizer[name.substr(10)] = file.load(name);
    else LAB_FAIL("{}: not a training checkpoint: tensor '{}' is neither model.* nor optimizer.*", path, name);
  }
  return state;
}

}  // namespace lab::nn
