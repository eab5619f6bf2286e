// Linear8bit: an inference layer y = x W^T + b whose weight is stored in int8, one absmax per output
// row (bitsandbytes' Linear8bitLt with has_fp16_weights=False), computed by LLM.int8() with the
// outlier decomposition (int8_matmul.h): 1 byte a weight plus 4 bytes a row, instead of 4 a weight.
//
// Built from a trained nn::Linear, which it does not keep. Its parameters, under bitsandbytes' names,
// are all frozen: "weight" (i8 [out, in]), "SCB" (f32 [out], the row absmax) and "bias" (f32 [out]).
// No gradient reaches them. The input does get one, as if y = x W'^T + b with W' the dequantized
// weight (the rounding is taken as the identity, the straight-through estimate bitsandbytes uses),
// so a LoRA adapter can train on top of it. Next: lessons/02_int8, then quant/linear4bit.h.
#pragma once

#include "nn/linear.h"
#include "quant/int8_matmul.h"

#include <vector>

namespace lab::quant {

class Linear8bit : public nn::UnaryModule {
public:
  // threshold: input columns with any |x| >= threshold go through f32 (0 turns the split off).
  explicit Linear8bit(const nn::Linear& linear, double threshold = 6.0);
  Tensor forward(const Tensor& x) override;  // x f32 [..., in] -> [..., out]

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  double threshold() const { return threshold_; }
  Int8Rows weight() const;  // the "weight" and "SCB" parameters
  // The input columns the last forward sent through f32.
  const std::vector<int64_t>& last_outlier_columns() const { return last_outliers_; }

private:
  int64_t in_, out_;
  double threshold_;
  std::vector<int64_t> last_outliers_;
};

}  // namespace lab::quant
