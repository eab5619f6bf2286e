// dtypes, and the rounding of every cast (tensor/convert.h, tensor/half.h).
#include <catch2/catch.hpp>

#include "tensor/all.h"
#include "tensor/convert.h"

#include <cmath>
#include <limits>

using namespace lab;

static float cast_f32(float v, DType via) { return from_vector<float>({v}).to(via).to(DType::f32).item<float>(); }

TEST_CASE("the dtype list: sizes, names, parsing") {
  CHECK(dtype_size(DType::f32) == 4);
  CHECK(dtype_size(DType::bf16) == 2);
  CHECK(dtype_size(DType::i64) == 8);
  CHECK(std::string(dtype_name(DType::f16)) == "f16");
  CHECK(std::string(dtype_safetensors_name(DType::bf16)) == "BF16");
  CHECK(parse_dtype("bf16") == DType::bf16);
  CHECK(parse_dtype("I64") == DType::i64);
  CHECK_THROWS_WITH(parse_dtype("float32"), Catch::Contains("unknown dtype 'float32'") && Catch::Contains("f32, f64"));
  CHECK(is_floating(DType::f16));
  CHECK_FALSE(is_floating(DType::u8));
}

TEST_CASE("f32 -> bf16 rounds to nearest, ties to even") {
  CHECK(to_bf16(1.0f).bits == 0x3f80);
  CHECK(cast_f32(1.0f + 0x1p-8f, DType::bf16) == 1.0f);                    // halfway, 1.0 is even
  CHECK(cast_f32(1.0f + 3 * 0x1p-8f, DType::bf16) == 1.0f + 0x1p-6f);      // halfway, rounds up to even
  CHECK(cast_f32(1.0f + 0x1p-8f + 0x1p-20f, DType::bf16) == 1.0f + 0x1p-7f);  // past halfway
  CHECK(std::isinf(cast_f32(std::numeric_limits<float>::max(), DType::bf16)));
  CHECK(std::isnan(cast_f32(NAN, DType::bf16)));
  CHECK(cast_f32(-INFINITY, DType::bf16) == -INFINITY);
  // Every bf16 value survives bf16 -> f32 -> bf16.
  for (uint32_t b = 0; b < 65536; b++) {
    bf16 h = bf16::from_bits(uint16_t(b));
    float f = to_float(h);
    if (std::isnan(f)) continue;
    REQUIRE(to_bf16(f).bits == h.bits);
  }
}

TEST_CASE("f32 -> f16 rounds to nearest even, with subnormals and overflow") {
  CHECK(to_f16(1.0f).bits == 0x3c00);
  CHECK(to_f16(-2.0f).bits == 0xc000);
  CHECK(to_f16(65504.0f).bits == 0x7bff);
  CHECK(to_f16(65519.0f).bits == 0x7bff);        // below the halfway point 65520
  CHECK(to_f16(65520.0f).bits == 0x7c00);        // halfway to 2^16: ties to even = inf
  CHECK(to_f16(0x1p-14f).bits == 0x0400);        // smallest normal
  CHECK(to_f16(0x1p-24f).bits == 0x0001);        // smallest subnormal
  CHECK(to_f16(0x1p-25f).bits == 0x0000);        // halfway between 0 and 2^-24: ties to even = 0
  CHECK(to_f16(3 * 0x1p-25f).bits == 0x0002);    // halfway between 1 and 2 ulps: even = 2
  CHECK(to_f16(-1e-9f).bits == 0x8000);          // -0
  CHECK(cast_f32(1.0f + 0x1p-11f, DType::f16) == 1.0f);
  CHECK(cast_f32(1.0f + 3 * 0x1p-11f, DType::f16) == 1.0f + 0x1p-9f);
  CHECK(std::isnan(cast_f32(NAN, DType::f16)));
  for (uint32_t b = 0; b < 65536; b++) {
    f16 h = f16::from_bits(uint16_t(b));
    float f = to_float(h);
    if (std::isnan(f)) continue;
    REQUIRE(to_f16(f).bits == h.bits);
  }
}

TEST_CASE("float -> integer truncates toward zero and saturates, NaN -> 0") {
  Tensor x = from_vector<float>({2.7f, -2.7f, 1e10f, -1e10f, NAN, 127.5f, -0.5f});
  CHECK(x.to(DType::i32).to_vector<int32_t>() ==
        std::vector<int32_t>{2, -2, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0, 127, 0});
  CHECK(x.to(DType::i8).to_vector<int8_t>() == std::vector<int8_t>{2, -2, 127, -128, 0, 127, 0});
  CHECK(x.to(DType::u8).to_vector<uint8_t>() == std::vector<uint8_t>{2, 0, 255, 0, 0, 127, 0});
  CHECK(from_vector<double>({1e300}).to(DType::i64).item<int64_t>() == std::numeric_limits<int64_t>::max());
  CHECK(convert_value<int64_t>(9.2233720368547758e18) == std::numeric_limits<int64_t>::max());
}

TEST_CASE("integer -> integer wraps, integer -> float rounds to nearest") {
  CHECK(from_vector<int64_t>({300, -1, 256}).to(DType::i8).to_vector<int8_t>() == std::vector<int8_t>{44, -1, 0});
  CHECK(from_vector<int32_t>({-1}).to(DType::u8).item<uint8_t>() == 255);
  CHECK(from_vector<int64_t>({(1 << 24) + 1}).to(DType::f32).item<float>() == 16777216.0f);
  CHECK(from_vector<uint8_t>({200}).to(DType::bf16).to(DType::f32).item<float>() == 200.0f);
}

TEST_CASE("to(dtype) keeps shape and makes a new tensor, the same dtype is a no-op") {
  Tensor t = arange(0, 6, 1, DType::f32).view({2, 3}).t();
  Tensor h = t.to(DType::f16);
  CHECK(h.shape() == Shape{3, 2});
  CHECK(h.dtype() == DType::f16);
  CHECK(h.to(DType::f32).to_vector<float>() == t.contiguous().to_vector<float>());
  CHECK(t.to(DType::f32).shares_storage_with(t));
}
