// LoRA (Hu et al. 2021): a frozen layer W plus a trainable low-rank update B A, as PEFT's LoraLayer.
//
//   y = base(x) + scaling * (dropout(x) A^T) B^T    A [r, in], B [out, r], scaling = alpha / r (rsLoRA: alpha / sqrt(r))
//
// LoRALinear wraps an nn::Linear or any Linear-like UnaryModule (quant::Linear4bit: see LinearLike in
// nn/linear.h) with PEFT's module layout, so parameter names are PEFT's: base_layer.weight,
// lora_A.default.weight, lora_B.default.weight. inject_lora swaps matching children of a model for
// LoRALinears and freezes the rest. Not here: adapter files (lora_io.h), the parameter arithmetic
// (lora_count.h). Next: lora.cpp (the layer), lora_inject.cpp (the model-wide calls), then lesson 05.
#pragma once

#include "nn/module.h"
#include "tensor/random.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lab::nn {

struct LoraConfig {                 // PEFT's LoraConfig fields that matter
  int64_t r = 8;
  double lora_alpha = 8;            // PEFT's default is 8
  double lora_dropout = 0.0;
  std::vector<std::string> target_modules = {"c_attn"};  // PEFT's list form: a module matches when its dotted name == t or ends with "." + t
  std::string target_regex;         // PEFT's string form: std::regex_match (full match) on the dotted module name; used instead of the list when non-empty
  bool use_rslora = false;          // scaling alpha / sqrt(r) instead of alpha / r
  std::string bias = "none";        // only "none" is supported (anything else: lab::Error)
  double scaling() const;
  void validate(const std::string& source) const;  // r >= 1, alpha > 0, dropout in [0,1), bias "none", a valid regex ...
  // PEFT's check_target_module_exists: does it select this dotted module name? (The regex, if any,
  // is compiled once, when the matcher is made.)
  std::function<bool(const std::string& module_name)> target_matcher() const;
};

// in and out features of a Linear-like layer (nn::Linear, quant::Linear4bit: anything that is a
// LinearLike), or nothing for any other module.
std::optional<std::pair<int64_t, int64_t>> in_out_features(const Module& m);

// Wraps a base layer (an nn::Linear, or any UnaryModule such as quant::Linear4bit) with in/out features:
//   y = base(x) + scaling * (dropout(x) A^T) B^T,   A [r, in] ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),  B [out, r] = 0
// Module layout as PEFT's: child "base_layer" (the wrapped layer, frozen), child "lora_A" holding one nn::Linear(in, r, no bias) per adapter name,
// child "lora_B" holding one nn::Linear(r, out, no bias) per adapter name: parameter names "base_layer.weight", "lora_A.default.weight", "lora_B.default.weight".
class LoRALinear : public UnaryModule {
public:
  LoRALinear(std::shared_ptr<UnaryModule> base, int64_t in_features, int64_t out_features, const LoraConfig& config, Generator& gen,
             const std::string& adapter = "default");
  Tensor forward(const Tensor& x) override;
  void add_adapter(const std::string& name, const LoraConfig& config, Generator& gen);  // another adapter; not active until set_active_adapter
  void set_active_adapter(const std::string& name);  // error naming the adapters there are
  const std::string& active_adapter() const;
  std::vector<std::string> adapters() const;
  bool has_adapter(const std::string& name) const;
  void merge();     // base f32 weight += scaling * B A (an error for a non-Linear base such as Linear4bit: say why)
  void unmerge();   // base f32 weight -= scaling * B A
  bool merged() const;
  UnaryModule& base_layer();
  int64_t in_features() const; int64_t out_features() const; int64_t r() const; double scaling() const;  // of the active adapter
  int64_t r(const std::string& adapter) const; double scaling(const std::string& adapter) const;
  const LoraConfig& config(const std::string& adapter) const;
  Tensor& lora_A(const std::string& adapter);  // [r, in]
  Tensor& lora_B(const std::string& adapter);  // [out, r]
  Generator& dropout_generator();   // reseedable per step for exact resume, as GPT::dropout_generator()

private:
  struct Adapter { LoraConfig config; double scaling; };
  Tensor delta_weight(const std::string& adapter);  // scaling * B A, [out, in], no graph
  Device base_device();  // where the base's weight lives: A and B are made there
  std::map<std::string, Adapter> adapters_;
  std::string active_;
  std::string merged_;  // the adapter merged into the base weight, or "" when none is
  int64_t in_, out_;
  Generator dropout_gen_;
};

struct InjectReport { std::vector<std::string> wrapped; };  // dotted names of the modules wrapped
// Wraps every nn::Linear (or quant::Linear4bit: any UnaryModule that is a Linear-like layer; see in_out_features) whose dotted name matches,
// freezes every other parameter (the base layers included), and returns what it wrapped. No match: lab::Error listing the module names there are.
InjectReport inject_lora(Module& model, const LoraConfig& config, Generator& gen, const std::string& adapter = "default");
void set_active_adapter(Module& model, const std::string& adapter);   // on every LoRALinear
void merge_lora(Module& model);  void unmerge_lora(Module& model);
// Reseeds every LoRALinear's dropout generator from one seed (the i-th layer, in module order, gets the
// i-th draw of Generator(seed)): what a training loop calls each step, beside GPT::dropout_generator(),
// so that a resumed run draws the same LoRA dropout masks. A model without LoRA layers is left alone.
void seed_lora_dropout(Module& model, uint64_t seed);
// PEFT's print_trainable_parameters(): "trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364"
// A weight held outside the parameters (Linear4bit's NF4 codes) counts in * out, as PEFT counts a 4-bit
// Params4bit at twice its packed numel.
std::string trainable_parameters_line(const Module& model);
std::string trainable_parameters_line(int64_t trainable, int64_t all);  // the same line from two counts

}  // namespace lab::nn
