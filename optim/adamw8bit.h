// AdamW with 8-bit state (Dettmers et al. 2022, "8-bit Optimizers via Block-wise Quantization"),
// the scheme of bitsandbytes' AdamW8bit (kOptimizerStatic8bit2StateBlockwise): m and v live as u8
// codes in blocks of 256 elements with one f32 absmax per block, m with the signed dynamic map and
// v with the unsigned one (quant/double_quant.h). Each step dequantizes a block, applies AdamW's
// update exactly as optim/adamw.cpp does (same order, same rounding), and requantizes m and v
// against the new absmax of the block. State per element: 2 bytes + 8/256 instead of 8.
// Parameters under min_8bit_size elements keep f32 state and update as AdamW, bit for bit.
// State names are bitsandbytes': "step", "state1", "state2" (u8 codes, or f32 for a small
// parameter), "absmax1", "absmax2" (f32 [ceil(numel / 256)], 8-bit parameters only).
// Not here: the GPU kernel (cuda/adamw8bit.cu), the paged variant (optim/paged_adamw.h).
#pragma once

#include "cuda/adamw8bit.h"
#include "optim/adamw.h"
#include "quant/double_quant.h"

namespace lab {

struct Adam8bitOptions {    // bitsandbytes' defaults
  int64_t block_size = 256;      // elements per absmax (bitsandbytes' BLOCKSIZE_2STATE)
  int64_t min_8bit_size = 4096;  // smaller parameters keep f32 state
};

class AdamW8bit : public Optimizer {
public:
  AdamW8bit(std::vector<Tensor> params, AdamWOptions options = {}, Adam8bitOptions eight = {});
  std::string name() const override { return "AdamW8bit"; }
  AdamWOptions& options() { return options_; }  // change lr between steps for a schedule
  const AdamWOptions& options() const { return options_; }
  const Adam8bitOptions& eight_bit_options() const { return eight_; }
  // Whether parameter i keeps 8-bit state (numel >= min_8bit_size).
  bool is_8bit(size_t i) const;

protected:
  void update() override;                // calls update_param(i) for every i with has_update(i)
  virtual void update_param(size_t i);   // one parameter: its step count, then the f32 or 8-bit update
  // The 8-bit layout; slots_for(i) gives parameter i's own (the f32 one when it is small).
  std::vector<Slot> slots() const override;
  std::vector<Slot> slots_for(size_t i) const override;
  std::map<std::string, std::string> hyperparameters() const override;

  AdamWOptions options_;
  Adam8bitOptions eight_;
};

// The two code books: m's signed map (create_dynamic_map(true)), v's unsigned (create_dynamic_map(false)).
const quant::DynamicMap& adam8bit_map_m();
const quant::DynamicMap& adam8bit_map_v();

// The CPU reference of one 8-bit update over n contiguous f32 elements (blocks of block_size, the
// last may be short): per block, dequantize m and v, AdamW as adamw_step_ref<float>, new absmax,
// requantize. code1/code2 [n], absmax1/absmax2 [ceil(n / block_size)] are updated in place.
// cuda::adamw8bit_step_f32 computes the same, bit for bit.
void adamw8bit_step_ref(float* p, const float* g, uint8_t* code1, uint8_t* code2, float* absmax1, float* absmax2, int64_t n,
                        int64_t block_size, const cuda::AdamWCoefficients& c);

}  // namespace lab
