// NF4 weights in safetensors files (nf4_io.h): the quant_state JSON written as Python's json.dumps
// writes it, and read back with every field and tensor checked against the others.
//
// The layout follows bitsandbytes' QuantState.as_dict(packed=True) / from_dict and the keys
// transformers saves for a Linear4bit (prefix + "weight." + key). Errors start with the file, then
// the entry, then the field: "model.safetensors: fc.weight.quant_state.bitsandbytes__nf4: field 'blocksize' ...".
#include "quant/nf4_io.h"

#include "tensor/error.h"
#include "tensor/factory.h"
#include "tensor/json_io.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <set>

namespace lab::quant {

namespace {

const char* kQuantStateSuffix = ".quant_state.bitsandbytes__nf4";

const char* torch_dtype_name(DType d) { return d == DType::bf16 ? "bfloat16" : d == DType::f16 ? "float16" : "float32"; }

// Python's repr of a float, which json.dumps writes: shortest round trip, and "2.0" rather than "2".
std::string python_float(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string quant_state_json(const NF4Tensor& q) {
  std::string json = fmt::format(R"({{"quant_type": "nf4", "blocksize": {}, "dtype": "{}", "shape": [{}])", q.blocksize,
                                 torch_dtype_name(q.dtype), fmt::join(q.shape, ", "));
  if (q.double_quantized())
    json += fmt::format(R"(, "nested_blocksize": {}, "nested_dtype": "float32", "nested_offset": {})", q.nested.blocksize,
                        python_float(double(q.nested.offset)));  // bitsandbytes: offset.item(), a float32 widened to double
  return json + "}";
}

QuantStateFields parse_quant_state(const std::string& source, const std::string& key, const uint8_t* data, size_t size) {
  auto fail = [&](const std::string& what) { LAB_FAIL("{}: {}: {}", source, key, what); };
  // Duplicate keys at the top level are refused (nlohmann would keep the last one silently).
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  const nlohmann::json j =
      json_io::parse_with_callback(std::string_view(reinterpret_cast<const char*>(data), size), on_event, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail("the quant_state bytes are not valid JSON (expected an object such as {\"quant_type\": \"nf4\", ...})");
  if (!j.is_object()) fail(fmt::format("the quant_state must be a JSON object, found a {}", j.type_name()));
  if (!duplicate.empty()) fail(fmt::format("field '{}' appears twice", duplicate));

  static const std::set<std::string> allowed = {"quant_type", "blocksize", "dtype", "shape", "nested_blocksize", "nested_dtype", "nested_offset"};
  for (const auto& [name, value] : j.items())
    if (!allowed.count(name)) fail(fmt::format("unexpected field '{}' (allowed: {})", name, fmt::join(allowed, ", ")));
  auto field = [&](const char* name) -> const nlohmann::json& {
    if (!j.contains(name)) fail(fmt::format("missing field '{}'", name));
    return j.at(name);
  };
  auto integer = [&](const nlohmann::json& v, const std::string& what) -> int64_t {
    if (!v.is_number_integer()) fail(fmt::format("{} must be an integer, found {}", what, json_io::dump(v)));
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) fail(fmt::format("{} is too large: {}", what, json_io::dump(v)));
    return v.get<int64_t>();
  };
  auto blocksize = [&](const char* name) {
    const int64_t b = integer(field(name), fmt::format("field '{}'", name));
    const bool ok = b >= 32 && b <= 4096 && (b & (b - 1)) == 0;
    if (!ok) fail(fmt::format("field '{}' must be a power of two from 32 to 4096, found {}", name, b));
    return b;
  };

  QuantStateFields f;
  const nlohmann::json& qt = field("quant_type");
  if (!qt.is_string()) fail(fmt::format("field 'quant_type' must be a string, found {}", json_io::dump(qt)));
  f.quant_type = qt.get<std::string>();
  if (f.quant_type != "nf4")
    fail(fmt::format("field 'quant_type' is \"{}\"; loralab reads \"nf4\" only{}", f.quant_type,
                     f.quant_type == "fp4" ? " (HINT: quantize with bnb_4bit_quant_type=\"nf4\")" : ""));
  f.blocksize = blocksize("blocksize");
  const nlohmann::json& dt = field("dtype");
  if (!dt.is_string()) fail(fmt::format("field 'dtype' must be a string, found {}", json_io::dump(dt)));
  const std::string dts = dt.get<std::string>();
  if (dts == "float32") f.dtype = DType::f32;
  else if (dts == "bfloat16") f.dtype = DType::bf16;
  else if (dts == "float16") f.dtype = DType::f16;
  else fail(fmt::format("field 'dtype' must be \"float32\", \"bfloat16\" or \"float16\", found \"{}\"", dts));

  const nlohmann::json& sh = field("shape");
  if (!sh.is_array() || sh.size() > size_t(kMaxDims)) fail(fmt::format("field 'shape' must be an array of at most {} sizes, found {}", kMaxDims, json_io::dump(sh)));
  int64_t n = 1;
  for (const nlohmann::json& d : sh) {
    const int64_t size_d = integer(d, "every size in field 'shape'");
    if (size_d < 0) fail(fmt::format("field 'shape' has a negative size: {}", json_io::dump(sh)));
    if (__builtin_mul_overflow(n, size_d, &n) || n > (int64_t(1) << 50)) fail(fmt::format("field 'shape' {} has too many elements", json_io::dump(sh)));
    f.shape.push_back(size_d);
  }

  const bool any_nested = j.contains("nested_blocksize") || j.contains("nested_dtype") || j.contains("nested_offset");
  if (any_nested) {
    f.nested = true;
    f.nested_blocksize = blocksize("nested_blocksize");
    const nlohmann::json& nd = field("nested_dtype");
    if (nd != "float32") fail(fmt::format("field 'nested_dtype' must be \"float32\", found {}", json_io::dump(nd)));
    const nlohmann::json& off = field("nested_offset");
    if (!off.is_number()) fail(fmt::format("field 'nested_offset' must be a number, found {}", json_io::dump(off)));
    f.nested_offset = off.get<double>();
    if (!std::isfinite(float(f.nested_offset))) fail(fmt::format("field 'nested_offset' must be a finite float32, found {}", json_io::dump(off)));
  }
  return f;
}

NamedTensors nf4_state_dict(const NF4Tensor& q, const std::string& name) {
  NamedTensors out;
  out.push_back({name, q.packed.reshape({(q.numel() + 1) / 2, 1})});
  out.push_back({name + ".absmax", q.double_quantized() ? q.nested.codes : q.absmax});
  out.push_back({name + ".quant_map", from_vector(std::vector<float>(nf4_table().begin(), nf4_table().end()))});
  if (q.double_quantized()) {
    out.push_back({name + ".nested_absmax", q.nested.absmax2});
    out.push_back({name + ".nested_quant_map", from_vector(std::vector<float>(q.nested.map.begin(), q.nested.map.end()))});
  }
  const std::string json = quant_state_json(q);
  out.push_back({name + kQuantStateSuffix, from_vector(std::vector<uint8_t>(json.begin(), json.end()))});
  return out;
}

std::vector<std::string> nf4_names(const SafetensorsFile& file) {
  std::vector<std::string> names;
  const std::string suffix = kQuantStateSuffix;
  for (const std::string& key : file.names())
    if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0)
      names.push_back(key.substr(0, key.size() - suffix.size()));
  return names;
}

NF4Tensor load_nf4(const SafetensorsFile& file, const std::string& name, Device device) {
  const std::string& src = file.path();
  const std::string qs_key = name + kQuantStateSuffix;
  if (!file.has(qs_key)) {
    LAB_CHECK(!file.has(name + ".quant_state.bitsandbytes__fp4"), "{}: '{}' is an FP4 weight; loralab reads NF4 only", src, name);
    LAB_FAIL("{}: no NF4 weight '{}': tensor '{}' is missing", src, name, qs_key);
  }
  // A tensor `key` of dtype and shape as expected (any of `shapes`), loaded on the CPU.
  auto expect = [&](const std::string& key, DType dtype, const std::vector<Shape>& shapes) {
    LAB_CHECK(file.has(key), "{}: NF4 weight '{}' needs tensor '{}', which is missing", src, name, key);
    const SafetensorsEntry& e = file.info(key);
    bool shape_ok = false;
    for (const Shape& s : shapes) shape_ok |= e.shape == s;
    LAB_CHECK(e.dtype == dtype && shape_ok, "{}: tensor '{}': expected {} of shape {}, found {} of shape {}", src, key,
              dtype_safetensors_name(dtype), shape_str(shapes[0]), dtype_safetensors_name(e.dtype), shape_str(e.shape));
    return file.load(key);
  };
  auto check_values = [&](const Tensor& t, const std::string& key, double lo, double hi) {
    const float* v = t.data<float>();
    for (int64_t i = 0; i < t.numel(); i++)
      LAB_CHECK(std::isfinite(v[i]) && v[i] >= lo && v[i] <= hi, "{}: tensor '{}': value [{}] is {}, expected a finite value in [{}, {}]", src,
                key, i, v[i], lo, hi);
  };

  const SafetensorsEntry& qs_entry = file.info(qs_key);
  LAB_CHECK(qs_entry.dtype == DType::u8 && qs_entry.shape.size() == 1, "{}: tensor '{}': expected the JSON text as U8 [length], found {} of shape {}",
            src, qs_key, dtype_safetensors_name(qs_entry.dtype), shape_str(qs_entry.shape));
  const Tensor qs = file.load(qs_key);
  const QuantStateFields f = parse_quant_state(src, qs_key, qs.data<uint8_t>(), size_t(qs.numel()));

  NF4Tensor q;
  q.shape = f.shape;
  q.dtype = f.dtype;
  q.blocksize = f.blocksize;
  const int64_t n = q.numel(), blocks = q.blocks();
  q.packed = expect(name, DType::u8, {{(n + 1) / 2, 1}, {(n + 1) / 2}}).reshape({(n + 1) / 2, 1});
  const Tensor quant_map = expect(name + ".quant_map", DType::f32, {{16}});
  for (int i = 0; i < 16; i++)
    LAB_CHECK(quant_map.data<float>()[i] == nf4_table()[size_t(i)], "{}: tensor '{}': value [{}] is {}, but the NF4 table has {}", src,
              name + ".quant_map", i, quant_map.data<float>()[i], nf4_table()[size_t(i)]);
  if (f.nested) {
    q.nested.codes = expect(name + ".absmax", DType::u8, {{blocks}});
    q.nested.blocksize = f.nested_blocksize;
    q.nested.offset = float(f.nested_offset);
    q.nested.absmax2 = expect(name + ".nested_absmax", DType::f32, {{num_blocks(blocks, f.nested_blocksize)}});
    check_values(q.nested.absmax2, name + ".nested_absmax", 0, INFINITY);
    const Tensor map = expect(name + ".nested_quant_map", DType::f32, {{256}});
    check_values(map, name + ".nested_quant_map", -1, 1);
    std::memcpy(q.nested.map.data(), map.data<float>(), sizeof(float) * 256);
  } else {
    for (const char* extra : {".nested_absmax", ".nested_quant_map"})
      LAB_CHECK(!file.has(name + extra), "{}: tensor '{}' is present but '{}' has no nested_* fields", src, name + extra, qs_key);
    q.absmax = expect(name + ".absmax", DType::f32, {{blocks}});
    check_values(q.absmax, name + ".absmax", 0, INFINITY);
  }
  return device.is_cpu() ? q : q.to(device);
}

void save_nf4(const std::string& path, const std::vector<std::pair<std::string, NF4Tensor>>& weights, const NamedTensors& others) {
  NamedTensors all = others;
  for (const auto& [name, q] : weights) {
    NamedTensors part = nf4_state_dict(q, name);
    all.insert(all.end(), part.begin(), part.end());
  }
  save_safetensors(path, all);
}

}  // namespace lab::quant
