// NF4 against bitsandbytes itself: the fixture tests/data/reference/nf4_bnb.safetensors was written by
// bitsandbytes 0.50 on the CPU (tests/reference/make_nf4_fixture.py). Codes, absmax, the JSON of the
// quant_state, the dynamic map and the dequantized values must match byte for byte.
// Where bitsandbytes' CPU paths round differently from its CUDA kernel (which we follow), the test
// says so and bounds the difference: its partial last block divides (x / absmax) where the kernel
// multiplies by the reciprocal, and its CPU second-level quantizer divides and breaks ties downward.
#include "quant/double_quant.h"
#include "quant/nf4.h"
#include "quant/nf4_io.h"
#include "tensor/all.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

using namespace lab;
using namespace lab::quant;

namespace {

const std::string kFixture = std::string(LAB_TEST_DATA_DIR) + "/reference/nf4_bnb.safetensors";

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.raw_data());
  return std::vector<uint8_t>(p, p + c.nbytes());
}

// Float equality by bits (so -0.0 and 0.0 differ, and the test says which element).
void require_same_floats(const Tensor& ours, const Tensor& theirs, const std::string& what) {
  REQUIRE(ours.numel() == theirs.numel());
  const std::vector<float> a = ours.to_vector<float>(), b = theirs.to_vector<float>();
  for (size_t i = 0; i < a.size(); i++) {
    INFO(what << " [" << i << "]: ours " << a[i] << ", bitsandbytes " << b[i]);
    REQUIRE(std::memcmp(&a[i], &b[i], 4) == 0);
  }
}

}  // namespace

TEST_CASE("bitsandbytes fixture: NF4 codes and absmax at block 64, byte for byte") {
  SafetensorsFile f = SafetensorsFile::open(kFixture);
  const Tensor w = f.load("plain.input");
  NF4Tensor ours = quantize_nf4(w, 64);
  NF4Tensor theirs = load_nf4(f, "plain.weight");
  CHECK(theirs.shape == w.shape());
  require_same_floats(ours.absmax, theirs.absmax, "absmax");
  CHECK(bytes_of(ours.packed) == bytes_of(theirs.packed));
  // The two blocks built to probe the rules: block 15 is all zeros, block 20 has every midpoint.
  CHECK(theirs.absmax.data<float>()[15] == 0.0f);
  for (int j = 0; j < 32; j++) CHECK(theirs.packed.data<uint8_t>()[15 * 32 + j] == 0x77);
  const uint8_t* tie = theirs.packed.data<uint8_t>() + 20 * 32;
  CHECK(tie[0] >> 4 == 15);                                                  // 1.0
  for (int i = 1; i < 16; i++) CHECK(((i % 2 ? tie[i / 2] & 0x0f : tie[i / 2] >> 4)) == i - 1);  // midpoint i-1|i -> code i-1
  // The JSON entry, byte for byte as Python's json.dumps wrote it.
  const Tensor qs = f.load("plain.weight.quant_state.bitsandbytes__nf4");
  CHECK(quant_state_json(ours) == std::string(qs.data<uint8_t>(), qs.data<uint8_t>() + qs.numel()));
}

TEST_CASE("bitsandbytes fixture: an odd count and a partial last block") {
  SafetensorsFile f = SafetensorsFile::open(kFixture);
  const Tensor x = f.load("odd.input");
  NF4Tensor ours = quantize_nf4(x, 64);
  NF4Tensor theirs = load_nf4(f, "odd.weight");
  require_same_floats(ours.absmax, theirs.absmax, "absmax");
  // bitsandbytes' CPU path divides in the partial block (x / absmax), we multiply by the reciprocal as
  // its CUDA kernel does; the two differ by at most an ulp, which moves a code only on a midpoint.
  const std::vector<uint8_t> a = bytes_of(ours.packed), b = bytes_of(theirs.packed);
  REQUIRE(a.size() == 501);
  CHECK(a == b);
  CHECK((a.back() & 0x0f) == 7);  // the padded 1002nd value is 0.0: code 7
  require_same_floats(dequantize_nf4(theirs), f.load("odd.dequant"), "dequantized");
  require_same_floats(dequantize_nf4(ours), f.load("odd.dequant"), "dequantized");
}

TEST_CASE("bitsandbytes fixture: the signed dynamic map is create_dynamic_map(signed=True), bit for bit") {
  SafetensorsFile f = SafetensorsFile::open(kFixture);
  const DynamicMap& map = dynamic_map_signed();
  require_same_floats(from_vector(std::vector<float>(map.begin(), map.end())), f.load("dynamic_map"), "dynamic map");
  require_same_floats(from_vector(std::vector<float>(map.begin(), map.end())), f.load("dq.weight.nested_quant_map"), "nested_quant_map");
}

TEST_CASE("bitsandbytes fixture: double quantization") {
  SafetensorsFile f = SafetensorsFile::open(kFixture);
  NF4Tensor theirs = load_nf4(f, "dq.weight");
  NF4Tensor ours = quantize_nf4(f.load("plain.input"), 64, true);
  CHECK(bytes_of(ours.packed) == bytes_of(theirs.packed));
  INFO("offset: ours " << ours.nested.offset << ", bitsandbytes " << theirs.nested.offset);
  CHECK(ours.nested.offset == theirs.nested.offset);
  require_same_floats(ours.nested.absmax2, theirs.nested.absmax2, "nested_absmax");
  // The 8-bit codes of the absmaxes: bitsandbytes' CPU library finds them with an approximate
  // bucket search (BinSearch "Direct2") and then compares only the right neighbour, so near a
  // midpoint it can keep the farther code; its CUDA kernel (and we) take the nearer. In this fixture
  // that happens twice in 288 (blocks 29 and 238, 1.5% and 10% from the midpoint); everywhere else the bytes agree.
  const std::vector<uint8_t> a = bytes_of(ours.nested.codes), b = bytes_of(theirs.nested.codes);
  const std::vector<float> exact = load_nf4(f, "plain.weight").absmax.to_vector<float>();
  const DynamicMap& map = dynamic_map_signed();
  std::vector<size_t> differ;
  for (size_t i = 0; i < a.size(); i++) {
    if (a[i] == b[i]) continue;
    differ.push_back(i);
    const double scaled = (double(exact[i]) - ours.nested.offset) / ours.nested.absmax2.data<float>()[i / 256];
    CHECK(std::fabs(map[a[i]] - scaled) < std::fabs(map[b[i]] - scaled));  // ours is the nearer code
    CHECK(std::abs(int(a[i]) - int(b[i])) == 1);                             // and theirs its neighbour
  }
  CHECK(differ == std::vector<size_t>{29, 238});
  // Their decoded absmax (dequantize_blockwise + offset) is ours, bit for bit, from their codes.
  require_same_floats(nf4_absmax(theirs), f.load("dq.absmax_decoded"), "decoded absmax");
  const Tensor qs = f.load("dq.weight.quant_state.bitsandbytes__nf4");
  CHECK(quant_state_json(ours) == std::string(qs.data<uint8_t>(), qs.data<uint8_t>() + qs.numel()));
}
