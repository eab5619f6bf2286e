// The fused 8-bit AdamW update on the GPU: one thread block per 256-element state block loads the
// u8 codes of m and v, dequantizes them, applies AdamW, reduces the new absmax of the block in
// shared memory and writes the requantized codes (bitsandbytes' kOptimizerStatic8bit2StateBlockwise).
// CPU reference and the math: optim/adamw8bit.cpp (adamw8bit_step_ref), which it equals bit for bit.
// Not here: the f32 update of small parameters (cuda/adamw.cu), the paged state (optim/).
// Plain C++ (no CUDA headers), so optim/ can call it with or without nvcc.
#pragma once

#include "cuda/adamw.h"

#include <cstdint>

namespace lab::cuda {

struct DynamicMaps8bit { float m[256]; float v[256]; };  // the signed and the unsigned map, by value

// p, g: n f32; code1, code2: n u8; absmax1, absmax2: ceil(n / block_size) f32; all on the current GPU,
// updated in place. block_size: 256 (one thread per element; other sizes up to 1024 work too).
void adamw8bit_step_f32(float* p, const float* g, uint8_t* code1, uint8_t* code2, float* absmax1, float* absmax2, int64_t n,
                        int64_t block_size, const AdamWCoefficients& c, const DynamicMaps8bit& maps);

}  // namespace lab::cuda
