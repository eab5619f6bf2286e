// LoraConfig's checks and LoRALinear: PEFT's LoraLayer and lora.Linear (src/peft/tuners/lora/layer.py)
// with one active adapter at a time.
//
// The forward is four differentiable ops on top of the base layer, so backward comes free and
// reaches A and B only (the base is frozen). Merging writes scaling * B A into the base weight under
// no_grad, as PEFT's merge does; a base that keeps no f32 weight (Linear4bit) cannot be merged.
// Not here: finding the layers to wrap (lora_inject.cpp). Next: lora_inject.cpp.
#include "nn/lora.h"

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "tensor/elementwise.h"
#include "tensor/full_match.h"
#include "tensor/matmul.h"

#include <cmath>

namespace lab::nn {

// PEFT's update_layer: alpha / sqrt(r) with rsLoRA (Kalajdzievski 2023), else alpha / r (Hu et al. 2021, sec. 4.1)
double LoraConfig::scaling() const { return use_rslora ? lora_alpha / std::sqrt(double(r)) : lora_alpha / double(r); }

void LoraConfig::validate(const std::string& source) const {
  LAB_CHECK(r >= 1, "{}: LoRA rank r must be >= 1, got {} (PEFT's update_layer refuses r <= 0 too)", source, r);
  LAB_CHECK(std::isfinite(lora_alpha) && lora_alpha > 0, "{}: lora_alpha must be a positive number, got {} (HINT: PEFT's default is 8)",
            source, lora_alpha);
  LAB_CHECK(lora_dropout >= 0 && lora_dropout < 1, "{}: lora_dropout must be in [0, 1), got {}", source, lora_dropout);
  LAB_CHECK(bias == "none", "{}: bias '{}' is not supported, only \"none\" (HINT: PEFT's \"all\" and \"lora_only\" train biases too; "
            "unfreeze them yourself if you need that)", source, bias);
  if (!target_regex.empty()) {
    FullMatch(target_regex, source + ": target_regex");  // a lab::Error when it is not a pattern
    return;
  }
  LAB_CHECK(!target_modules.empty(), "{}: target_modules is empty and there is no target_regex (HINT: GPT-2's default is [\"c_attn\"])",
            source);
  for (const std::string& t : target_modules)
    LAB_CHECK(!t.empty() && t.front() != '.' && t.back() != '.', "{}: target_modules entry '{}' is not a module name", source, t);
}

// PEFT's check_target_module_exists: target_regex matches the whole dotted name, or else the name is
// an entry of target_modules or ends with "." + one ("h.0.attn.c_attn" ends with ".c_attn").
std::function<bool(const std::string&)> LoraConfig::target_matcher() const {
  if (!target_regex.empty()) return FullMatch(target_regex, "target_regex");
  return [modules = target_modules](const std::string& name) {
    for (const std::string& t : modules)
      if (name == t || name.ends_with("." + t)) return true;
    return false;
  };
}

LoRALinear::LoRALinear(std::shared_ptr<UnaryModule> base, int64_t in_features, int64_t out_features, const LoraConfig& config,
                       Generator& gen, const std::string& adapter)
    : in_(in_features), out_(out_features) {
  LAB_CHECK(base != nullptr, "LoRALinear: null base layer");
  LAB_CHECK(in_ > 0 && out_ > 0, "LoRALinear({} -> {}): sizes must be positive", in_, out_);
  if (auto* like = dynamic_cast<const LinearLike*>(base.get()))
    LAB_CHECK(like->in_features() == in_ && like->out_features() == out_,
              "LoRALinear: the base layer maps {} -> {} features, but {} -> {} was asked for (HINT: pass the base's in_features() "
              "and out_features())",
              like->in_features(), like->out_features(), in_, out_);
  base->freeze();
  register_module("base_layer", std::move(base));
  register_module("lora_A", std::make_shared<Module>());  // one Linear(in, r) per adapter, as PEFT's nn.ModuleDict
  register_module("lora_B", std::make_shared<Module>());  // one Linear(r, out) per adapter
  add_adapter(adapter, config, gen);
  active_ = adapter;
}

void LoRALinear::add_adapter(const std::string& name, const LoraConfig& config, Generator& gen) {
  config.validate(fmt::format("LoRA adapter '{}'", name));
  LAB_CHECK(!name.empty() && name.find('.') == std::string::npos, "LoRA adapter name '{}' must be non-empty and have no '.'", name);
  LAB_CHECK(!has_adapter(name), "this LoRALinear already has an adapter named '{}' (it has: {})", name, fmt::join(adapters(), ", "));
  // A [r, in] ~ U(-1/sqrt(in), 1/sqrt(in)) (nn.Linear's kaiming_uniform, a = sqrt(5)), B [out, r] = 0: B A = 0 at the start
  auto a = std::make_shared<Linear>(in_, config.r, gen, /*bias=*/false);
  auto b = std::make_shared<Linear>(config.r, out_, gen, /*bias=*/false);
  init::zeros_(b->weight());
  // The new matrices live where the base's weight does (an NF4 weight is no parameter, and LLaMA's
  // layers have no bias: the parameters alone would leave A and B on the CPU beside a GPU base).
  const Device device = base_device();
  if (device != Device::cpu()) a->to(device), b->to(device);
  child("lora_A")->register_module(name, a);
  child("lora_B")->register_module(name, b);
  ag::set_requires_grad(a->weight(), true, "lora_A." + name + ".weight");
  ag::set_requires_grad(b->weight(), true, "lora_B." + name + ".weight");
  adapters_[name] = Adapter{config, config.scaling()};
  if (adapters_.size() == 1) dropout_gen_ = Generator(gen.next_u32());
}

Device LoRALinear::base_device() {
  if (const auto* like = dynamic_cast<const LinearLike*>(&base_layer())) return like->device();
  const NamedTensors params = base_layer().named_parameters();  // another layer: its first parameter says
  return params.empty() ? Device::cpu() : params.front().second.device();
}

bool LoRALinear::has_adapter(const std::string& name) const { return adapters_.count(name) > 0; }

std::vector<std::string> LoRALinear::adapters() const {
  std::vector<std::string> names;
  for (const auto& [name, m] : child("lora_A")->named_children()) names.push_back(name);  // in the order they were added
  return names;
}

void LoRALinear::set_active_adapter(const std::string& name) {
  LAB_CHECK(has_adapter(name), "no LoRA adapter named '{}' (there are: {})", name, fmt::join(adapters(), ", "));
  LAB_CHECK(merged_.empty() || merged_ == name,
            "cannot make adapter '{}' active while adapter '{}' is merged into the base weight (HINT: unmerge first)", name, merged_);
  active_ = name;
  // PEFT's set_adapter: the active adapter's A and B train, the others are frozen
  for (const std::string& n : adapters()) {
    ag::set_requires_grad(lora_A(n), n == name);
    ag::set_requires_grad(lora_B(n), n == name);
  }
}

const std::string& LoRALinear::active_adapter() const { return active_; }
bool LoRALinear::merged() const { return !merged_.empty(); }
UnaryModule& LoRALinear::base_layer() { return child_as<UnaryModule>("base_layer"); }
int64_t LoRALinear::in_features() const { return in_; }
int64_t LoRALinear::out_features() const { return out_; }
int64_t LoRALinear::r() const { return r(active_); }
double LoRALinear::scaling() const { return scaling(active_); }
Generator& LoRALinear::dropout_generator() { return dropout_gen_; }

const LoraConfig& LoRALinear::config(const std::string& adapter) const {
  auto it = adapters_.find(adapter);
  LAB_CHECK(it != adapters_.end(), "no LoRA adapter named '{}' (there are: {})", adapter, fmt::join(adapters(), ", "));
  return it->second.config;
}
int64_t LoRALinear::r(const std::string& adapter) const { return config(adapter).r; }
double LoRALinear::scaling(const std::string& adapter) const { return config(adapter).scaling(); }

Tensor& LoRALinear::lora_A(const std::string& adapter) {
  config(adapter);  // the error naming the adapters there are
  return child("lora_A")->child_as<Linear>(adapter).weight();
}
Tensor& LoRALinear::lora_B(const std::string& adapter) {
  config(adapter);
  return child("lora_B")->child_as<Linear>(adapter).weight();
}

// y = base(x) + scaling * (dropout(x) A^T) B^T    x [..., in], A [r, in], B [out, r] -> y [..., out]
Tensor LoRALinear::forward(const Tensor& x) {
  LAB_CHECK(x.dim() >= 1 && x.size(-1) == in_, "LoRALinear({} -> {}) around '{}': input of shape {} has {} features, expected {}", in_,
            out_, ag::name_of(lora_A(active_)), shape_str(x.shape()), x.dim() >= 1 ? x.size(-1) : 0, in_);
  Tensor y = base_layer().forward(x);
  if (merged()) return y;  // B A is already inside the base weight
  const Adapter& ad = adapters_.at(active_);
  // dropout only on the LoRA branch: the base path never sees it (PEFT's Linear.forward)
  Tensor h = ag::dropout(x, ad.config.lora_dropout, is_training(), dropout_gen_);
  h = ag::matmul(h, ag::transpose(lora_A(active_), 0, 1));  // [..., r]
  h = ag::matmul(h, ag::transpose(lora_B(active_), 0, 1));  // [..., out]
  return ag::add(y, ag::mul(h, ad.scaling));
}

// delta W = scaling * B A   B [out, r], A [r, in] -> [out, in]
Tensor LoRALinear::delta_weight(const std::string& adapter) {
  ag::NoGradGuard no_grad;
  return lab::mul(lab::matmul(ag::detach(lora_B(adapter)), ag::detach(lora_A(adapter))), scaling(adapter));
}

static Linear& mergeable_base(LoRALinear& layer, const char* what) {
  auto* linear = dynamic_cast<Linear*>(&layer.base_layer());
  LAB_CHECK(linear != nullptr,
            "{}: the base layer around '{}' is not an nn::Linear, so it keeps no f32 weight to add B A to (a quant::Linear4bit "
            "holds NF4 codes: merging would mean dequantize, add, requantize, with rounding error) (HINT: keep the adapter "
            "unmerged, or merge into an f32 copy of the base model)",
            what, ag::name_of(layer.lora_A(layer.active_adapter())));
  return *linear;
}

// W [out, in] += scaling * B A  (PEFT's Linear.merge)
void LoRALinear::merge() {
  LAB_CHECK(merged_.empty(), "merge: adapter '{}' is already merged into the base weight around '{}'", merged_,
            ag::name_of(lora_A(active_)));
  Linear& base = mergeable_base(*this, "merge");
  ag::NoGradGuard no_grad;
  const Tensor w = ag::detach(base.weight());
  w.copy_(lab::add(w, delta_weight(active_).to(w.device()).to(w.dtype())));
  merged_ = active_;
}

// W [out, in] -= scaling * B A  (PEFT's Linear.unmerge): W back to what it was, up to rounding
void LoRALinear::unmerge() {
  LAB_CHECK(!merged_.empty(), "unmerge: no adapter is merged into the base weight around '{}'", ag::name_of(lora_A(active_)));
  Linear& base = mergeable_base(*this, "unmerge");
  ag::NoGradGuard no_grad;
  const Tensor w = ag::detach(base.weight());
  w.copy_(lab::sub(w, delta_weight(merged_).to(w.device()).to(w.dtype())));
  merged_.clear();
}

}  // namespace lab::nn
