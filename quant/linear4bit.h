// Linear4bit: y = x W^T + b with W held in NF4 (QLoRA's frozen base layer; bitsandbytes' Linear4bit
// with quant_type "nf4"). W is dequantized on the fly in every forward and never kept in f32.
//
// Gradients flow to the input (dx = g W, W dequantized again in backward, as bitsandbytes'
// MatMul4Bit does) but never to W: the 4-bit weight is frozen; LoRA adapters (lesson 06) train
// beside it. The bias is an ordinary f32 parameter, frozen too (unfreeze() makes it trainable).
// Memory: the allocator holds the packed codes and the statistics (NF4Tensor::nbytes) plus the bias.
// Not here: the codec (nf4.h), files (nf4_io.h), LoRA (nn/). Read linear4bit.cpp next (short).
#pragma once

#include "nn/linear.h"
#include "nn/module.h"
#include "quant/nf4.h"

namespace lab::quant {

class Linear4bit : public nn::UnaryModule, public nn::LinearLike {
public:
  // Quantizes a Linear's weight (on its device) and copies its bias.
  explicit Linear4bit(const nn::Linear& linear, int64_t blocksize = kDefaultBlockSize, bool double_quant = true);
  // From an NF4 weight [out, in] and an optional bias [out] (e.g. loaded with nf4_io.h).
  explicit Linear4bit(NF4Tensor weight, const Tensor& bias = Tensor());

  Tensor forward(const Tensor& x) override;  // x [..., in] f32 (or f64) -> [..., out]

  int64_t in_features() const override { return weight_.shape[1]; }
  int64_t out_features() const override { return weight_.shape[0]; }
  Device device() const override { return weight_.device(); }
  const NF4Tensor& weight() const { return weight_; }
  bool has_bias() const { return has_parameter("bias"); }
  Tensor& bias() { return parameter("bias"); }
  size_t nbytes() const;  // weight codes + statistics + bias: what this layer holds in the allocator
  // Moves the NF4 weight and the bias. (Module::to is not virtual: a parent's to() moves only the
  // bias, so build the layer on the device it will run on, or call this.)
  void to(Device device);

private:
  NF4Tensor weight_;
};

}  // namespace lab::quant
