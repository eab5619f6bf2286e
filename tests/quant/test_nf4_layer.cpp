// Linear4bit (forward against nn::Linear with the dequantized weight, gradients to the input only,
// gradcheck in f64, bytes in the allocator) and NF4 safetensors files with bitsandbytes' names:
// round trips, and malformed quant_state entries and tensors, each refused naming file and field.
#include "autograd/autograd.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/linear.h"
#include "quant/linear4bit.h"
#include "quant/nf4_io.h"
#include "tensor/all.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

using namespace lab;
using namespace lab::quant;

namespace {

// An nn::Linear whose weight is the dequantized NF4 weight: what Linear4bit must compute.
std::unique_ptr<nn::Linear> dequantized_copy(const Linear4bit& layer, const nn::Linear& source, Generator& gen) {
  auto ref = std::make_unique<nn::Linear>(layer.in_features(), layer.out_features(), gen, source.has_parameter("bias"));
  ref->parameter("weight").copy_(dequantize_nf4(layer.weight()));
  if (source.has_parameter("bias")) ref->parameter("bias").copy_(source.parameter("bias"));
  return ref;
}

std::string text_of(const Tensor& t) { return std::string(t.data<uint8_t>(), t.data<uint8_t>() + t.numel()); }

// The state dict of an NF4 weight with one entry replaced, as the bytes of a file named bad.safetensors.
SafetensorsFile file_with(const NF4Tensor& q, const std::string& key, const Tensor& replacement, bool drop = false) {
  NamedTensors tensors;
  for (auto& [name, t] : nf4_state_dict(q, "fc.weight")) {
    if (name != key) tensors.push_back({name, t});
    else if (!drop) tensors.push_back({name, replacement});
  }
  return SafetensorsFile::from_bytes("bad.safetensors", serialize_safetensors(tensors));
}

Tensor json_bytes(const std::string& s) { return from_vector(std::vector<uint8_t>(s.begin(), s.end())); }

}  // namespace

TEST_CASE("Linear4bit computes x W^T + b with the dequantized weight, exactly as nn::Linear would") {
  Generator gen(4);
  for (bool dq : {false, true}) {
    for (bool bias : {false, true}) {
      DYNAMIC_SECTION("double quant " << dq << ", bias " << bias) {
        nn::Linear source(96, 40, gen, bias);
        Linear4bit layer(source, 64, dq);
        auto ref = dequantized_copy(layer, source, gen);
        Tensor x = randn({3, 5, 96}, gen);
        // Same operands in the same order: the same bits.
        CHECK(layer.forward(x).to_vector<float>() == ref->forward(x).to_vector<float>());
        // Quantization error of the output stays small against the unquantized layer.
        const double err = max(abs(sub(layer.forward(x), source.forward(x)))).item<double>();
        CHECK(err < 0.2 * max(abs(source.forward(x))).item<double>());
      }
    }
  }
}

TEST_CASE("Linear4bit: gradients reach the input, never the 4-bit weight") {
  Generator gen(5);
  nn::Linear source(64, 32, gen);
  Linear4bit layer(source, 64, true);
  auto ref = dequantized_copy(layer, source, gen);
  CHECK(layer.num_parameters(/*trainable_only=*/true) == 0);  // the bias is frozen; the weight is no parameter at all
  CHECK(layer.named_parameters().size() == 1);
  Tensor x = ag::set_requires_grad(randn({4, 64}, gen), true, "x");
  Tensor x_ref = ag::set_requires_grad(x.clone(), true, "x_ref");
  Tensor g = randn({4, 32}, gen);
  ag::backward(layer.forward(x), g);
  ag::backward(ref->forward(x_ref), g);
  REQUIRE(ag::grad(x).defined());
  CHECK(ag::grad(x).to_vector<float>() == ag::grad(x_ref).to_vector<float>());  // dx = g W, W dequantized
  CHECK_FALSE(ag::grad(layer.bias()).defined());
  // In f64 the input gradient passes gradcheck.
  Tensor x64 = ag::set_requires_grad(randn({3, 64}, gen, DType::f64), true, "x64");
  ag::GradcheckResult r = ag::gradcheck("linear4bit", [&](const std::vector<Tensor>& in) { return layer.forward(in[0]); }, {x64});
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("Linear4bit holds its packed codes and statistics in the allocator, and nothing else") {
  Generator gen(6);
  nn::Linear source(512, 256, gen);  // 131072 weights: 2048 blocks, 8 second-level blocks
  for (bool dq : {false, true}) {
    const size_t before = memory_stats(Device::cpu()).current;
    Linear4bit layer(source, 64, dq);
    const size_t held = memory_stats(Device::cpu()).current - before;
    const size_t expected = 131072 / 2 + (dq ? 2048 + 8 * 4 : 2048 * 4) + 256 * 4;  // codes + statistics + f32 bias
    CHECK(held == expected);
    CHECK(layer.nbytes() == expected);
    // A forward's dequantized W^T is a temporary: it comes and goes.
    Tensor y = layer.forward(randn({2, 512}, gen));
    CHECK(memory_stats(Device::cpu()).current - before == expected + y.nbytes());
  }
}

TEST_CASE("NF4 weights round-trip through safetensors under bitsandbytes' names") {
  namespace fs = std::filesystem;
  const std::string path = (fs::temp_directory_path() / "loralab_test_nf4_io.safetensors").string();
  Generator gen(7);
  Tensor w = randn({48, 80}, gen);
  NF4Tensor plain = quantize_nf4(w, 64), dq = quantize_nf4(w, 128, true);
  save_nf4(path, {{"a.weight", plain}, {"b.weight", dq}}, {{"a.bias", zeros({48})}});
  SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.metadata().at("format") == "pt");
  CHECK(nf4_names(f).size() == 2);
  for (const char* key : {"a.weight", "a.weight.absmax", "a.weight.quant_map", "a.weight.quant_state.bitsandbytes__nf4", "b.weight.nested_absmax",
                          "b.weight.nested_quant_map", "a.bias"})
    CHECK(f.has(key));
  CHECK_FALSE(f.has("a.weight.nested_absmax"));
  CHECK(f.info("a.weight").shape == Shape{1920, 1});
  CHECK(f.info("b.weight.absmax").dtype == DType::u8);
  CHECK(text_of(f.load("a.weight.quant_state.bitsandbytes__nf4")) ==
        R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [48, 80]})");
  CHECK(text_of(f.load("b.weight.quant_state.bitsandbytes__nf4"))
            .starts_with(R"({"quant_type": "nf4", "blocksize": 128, "dtype": "float32", "shape": [48, 80], "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": )"));
  for (const auto& [name, q] : {std::pair<std::string, NF4Tensor>{"a.weight", plain}, {"b.weight", dq}}) {
    NF4Tensor back = load_nf4(f, name);
    CHECK(back.shape == q.shape);
    CHECK(back.blocksize == q.blocksize);
    CHECK(back.double_quantized() == q.double_quantized());
    CHECK(back.nested.offset == q.nested.offset);
    CHECK(back.packed.to_vector<uint8_t>() == q.packed.to_vector<uint8_t>());
    CHECK(dequantize_nf4(back).to_vector<float>() == dequantize_nf4(q).to_vector<float>());
    CHECK(quant_state_json(back) == quant_state_json(q));
  }
  // A Linear4bit built from a loaded weight computes what the original computes.
  Linear4bit from_file(load_nf4(f, "b.weight"), f.load("a.bias"));
  Linear4bit original(dq, zeros({48}));
  Tensor x = randn({2, 80}, gen);
  CHECK(from_file.forward(x).to_vector<float>() == original.forward(x).to_vector<float>());
  fs::remove(path);
}

TEST_CASE("a malformed quant_state entry is an error naming the file, the entry and the field") {
  Generator gen(8);
  const NF4Tensor q = quantize_nf4(randn({16, 64}, gen), 64, true);
  const std::string key = "fc.weight.quant_state.bitsandbytes__nf4";
  const std::string ok_nested = R"("nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.5)";
  struct Case { std::string json, message; };
  const std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {"[1, 2]", "must be a JSON object, found a array"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32"})", "missing field 'shape'"},
      {R"({"quant_type": "fp4", "blocksize": 64, "dtype": "float32", "shape": [16, 64]})", "field 'quant_type' is \"fp4\""},
      {R"({"quant_type": 4, "blocksize": 64, "dtype": "float32", "shape": [16, 64]})", "field 'quant_type' must be a string"},
      {R"({"quant_type": "nf4", "blocksize": 65, "dtype": "float32", "shape": [16, 64], )" + ok_nested + "}", "field 'blocksize' must be a power of two"},
      {R"({"quant_type": "nf4", "blocksize": 64.0, "dtype": "float32", "shape": [16, 64]})", "field 'blocksize' must be an integer"},
      {R"({"quant_type": "nf4", "blocksize": true, "dtype": "float32", "shape": [16, 64]})", "field 'blocksize' must be an integer"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float64", "shape": [16, 64]})", "field 'dtype' must be"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, -64]})", "negative size"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": "16x64"})", "field 'shape' must be an array"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [4294967296, 4294967296]})", "too many elements"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [18446744073709551615]})", "too large"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 64], "nested_blocksize": 256})", "missing field 'nested_dtype'"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 64], "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": "0.5"})",
       "field 'nested_offset' must be a number"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 64], "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 1e300})",
       "must be a finite float32"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 64], "strides": [64, 1]})", "unexpected field 'strides'"},
      {R"({"quant_type": "nf4", "quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 64]})", "field 'quant_type' appears twice"},
      // Well-formed JSON that disagrees with the tensors beside it.
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 66], )" + ok_nested + "}", "tensor 'fc.weight': expected U8 of shape [528, 1]"},
      {R"({"quant_type": "nf4", "blocksize": 32, "dtype": "float32", "shape": [16, 64], )" + ok_nested + "}", "tensor 'fc.weight.absmax': expected U8 of shape [32]"},
      {R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [16, 64]})", "has no nested_* fields"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.json) {
      SafetensorsFile f = file_with(q, key, json_bytes(c.json));
      REQUIRE_THROWS_WITH(load_nf4(f, "fc.weight"), Catch::StartsWith("bad.safetensors: ") && Catch::Contains(c.message));
    }
  }
  // parse_quant_state alone: a bad entry names the key it came from.
  const std::string bad = "{\"quant_type\": \"nf4\"";
  REQUIRE_THROWS_WITH(parse_quant_state("m.safetensors", key, reinterpret_cast<const uint8_t*>(bad.data()), bad.size()),
                      Catch::StartsWith("m.safetensors: " + key + ": "));
}

TEST_CASE("the tensors of an NF4 weight are checked too") {
  Generator gen(9);
  const NF4Tensor plain = quantize_nf4(randn({16, 64}, gen), 64), dq = quantize_nf4(randn({16, 64}, gen), 64, true);
  auto refused = [](const SafetensorsFile& f, const std::string& message) {
    REQUIRE_THROWS_WITH(load_nf4(f, "fc.weight"), Catch::StartsWith("bad.safetensors: ") && Catch::Contains(message));
  };
  refused(file_with(plain, "fc.weight.absmax", full({16}, -1.0)), "tensor 'fc.weight.absmax': value [0] is -1");
  refused(file_with(plain, "fc.weight.absmax", full({16}, NAN)), "expected a finite value");
  refused(file_with(plain, "fc.weight.absmax", zeros({16}, DType::f64)), "expected F32 of shape [16], found F64 of shape [16]");
  refused(file_with(plain, "fc.weight.absmax", Tensor(), true), "needs tensor 'fc.weight.absmax', which is missing");
  refused(file_with(plain, "fc.weight.quant_map", zeros({16})), "but the NF4 table has -1");
  refused(file_with(plain, "fc.weight", zeros({512}, DType::i8)), "expected U8 of shape [512, 1], found I8");
  refused(file_with(plain, "fc.weight.quant_state.bitsandbytes__nf4", zeros({2, 8}, DType::u8)), "expected the JSON text as U8 [length]");
  refused(file_with(plain, "fc.weight.quant_state.bitsandbytes__nf4", Tensor(), true), "no NF4 weight 'fc.weight'");
  refused(file_with(dq, "fc.weight.nested_absmax", Tensor(), true), "needs tensor 'fc.weight.nested_absmax'");
  refused(file_with(dq, "fc.weight.nested_quant_map", full({256}, 2.0)), "tensor 'fc.weight.nested_quant_map': value [0] is 2");
  refused(file_with(dq, "fc.weight.absmax", zeros({16})), "expected U8 of shape [16], found F32");
  // A 1-D packed tensor is accepted (bitsandbytes writes [n/2, 1]; some tools squeeze it).
  CHECK(load_nf4(file_with(plain, "fc.weight", plain.packed.reshape({512})), "fc.weight").packed.shape() == Shape{512, 1});
}
