// LoRA parameter counts (nn/lora_count.h) against figures published for real models: the LoRA
// paper's GPT-3 budget, PEFT's GPT-2 default, LLaMA-7B's q_proj/v_proj adapter; and the errors.
// Lesson 01 part 4 prints the same counts.
#include <catch2/catch.hpp>

#include "nn/lora_count.h"
#include "tensor/error.h"

using namespace lab;
using nn::LoraTarget;

TEST_CASE("lora_parameters is r * (in + out): A [r, in] plus B [out, r]") {
  CHECK(nn::lora_parameters(4, 4, 1) == 8);  // lesson 01's 4x4: 16 numbers become 8
  CHECK(nn::lora_parameters(768, 2304, 8) == 8 * 768 + 2304 * 8);
  CHECK(nn::lora_parameters(3072, 768, 1) == 3840);
}

TEST_CASE("GPT-3 175B, r = 4 on W_q and W_v in all 96 layers: 18,874,368") {
  // LoRA paper (Hu et al. 2021), sec. 7.1: "a parameter budget of 18M (roughly 35MB if stored in
  // FP16) on GPT-3 175B, which corresponds to r = 8 if we adapt one type of attention weights or
  // r = 4 if we adapt two types, for all 96 layers". 96 * 2 * 4 * (12288 + 12288) = 18,874,368.
  std::vector<LoraTarget> qv = {{"W_q", 12288, 12288}, {"W_v", 12288, 12288}};
  CHECK(nn::lora_parameters(qv, 96, 4) == 18'874'368);
  CHECK(nn::lora_parameters({{"W_q", 12288, 12288}}, 96, 8) == 18'874'368);  // the same budget, one type at r = 8
  CHECK(nn::dense_parameters(qv, 96) == 96LL * 2 * 12288 * 12288);
}

TEST_CASE("GPT-2 c_attn, r = 8: 294,912, as PEFT's default target for gpt2 trains") {
  // PEFT's default target for gpt2 is ["c_attn"] (peft/utils/constants.py): per layer lora_A [8, 768]
  // and lora_B [2304, 8], so 12 x (8 * 768 + 2304 * 8) = 294,912.
  CHECK(nn::lora_parameters({{"c_attn", 768, 2304}}, 12, 8) == 294'912);
}

TEST_CASE("LLaMA-7B, r = 8 on q_proj and v_proj: 4,194,304") {
  // 32 layers x 2 matrices x 8 x (4096 + 4096); the "trainable params: 4,194,304" PEFT is commonly shown printing for it.
  CHECK(nn::lora_parameters({{"q_proj", 4096, 4096}, {"v_proj", 4096, 4096}}, 32, 8) == 4'194'304);
}

TEST_CASE("lora_parameters refuses a rank or a size that is not positive") {
  CHECK_THROWS_WITH(nn::lora_parameters(8, 8, 0), Catch::Contains("rank r must be positive"));
  CHECK_THROWS_WITH(nn::lora_parameters(0, 8, 2), Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(nn::lora_parameters({{"q", 8, -1}}, 2, 2), Catch::Contains("LoRA target 'q'"));
  CHECK_THROWS_WITH(nn::lora_parameters({{"q", 8, 8}}, -1, 2), Catch::Contains("layers must be >= 0"));
  CHECK(nn::lora_parameters(std::vector<LoraTarget>{}, 12, 4) == 0);  // no targets: nothing to train
}
