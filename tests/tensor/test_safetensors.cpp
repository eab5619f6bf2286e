// Safetensors: round trips of every dtype and layout, the reference's golden bytes (SAFETENSORS_FACTS
// §3, from the Rust unit tests), and malformed files, each refused with a message that starts with
// the file and says what is wrong. Every truncation of a good file and random byte flips must give
// a lab::Error or a good parse, never anything else (the fuzzer goes further).
// Read tensor/safetensors.h first; tests/tools/test_loralab_inspect.sh checks the same files from the CLI.
#include "tensor/all.h"
#include "tensor/safetensors.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

using namespace lab;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system's temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / fmt::format("loralab_test_safetensors_{}_{}", getpid(), counter++);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += char(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string le64(uint64_t n) { return std::string(reinterpret_cast<const char*>(&n), 8); }

// A file whose header is `json` (its length in front), followed by `data`.
std::string st_file(const std::string& json, const std::string& data = "") { return le64(json.size()) + json + data; }

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// The 24 bytes of f32 0..5, as in the reference's test_serialization.
const std::string kF32_0to5 = from_hex("000000000000803f0000004000004040000080400000a040");

}  // namespace

TEST_CASE("every dtype round-trips including scalar and empty shapes") {
  TempDir dir;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i8, DType::u8, DType::i32, DType::i64}) {
    DYNAMIC_SECTION(dtype_name(dt)) {
      NamedTensors tensors = {{"matrix", arange(-3, 3, 1, dt).reshape({2, 3})},
                              {"scalar", scalar(5, dt)},
                              {"empty", zeros({2, 0}, dt)}};
      std::string path = dir.file(fmt::format("{}.safetensors", dtype_name(dt)));
      save_safetensors(path, tensors);
      SafetensorsFile f = SafetensorsFile::open(path);
      REQUIRE(f.entries().size() == 3);
      for (const auto& [name, t] : tensors) {
        Tensor back = f.load(name);
        CHECK(back.dtype() == dt);
        CHECK(back.shape() == t.shape());
        CHECK(back.to_vector<double>() == t.to_vector<double>());
      }
      CHECK(f.info("empty").nbytes() == 0);
      CHECK(f.info("scalar").shape.empty());
    }
  }
}

TEST_CASE("a non-contiguous tensor is written in row-major order of its view") {
  TempDir dir;
  Tensor t = arange(0, 6, 1, DType::f32).reshape({2, 3}).t();  // [3, 2], strides [1, 3]
  REQUIRE_FALSE(t.is_contiguous());
  save_safetensors(dir.file("t.safetensors"), {{"t", t}});
  Tensor back = load_safetensors(dir.file("t.safetensors")).at("t");
  CHECK(back.shape() == Shape{3, 2});
  CHECK(back.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("metadata round-trips and format=pt is added unless given") {
  TempDir dir;
  save_safetensors(dir.file("a.safetensors"), {{"x", ones({2})}}, {{"step", "100"}, {"note", "héllo \"quoted\"\n"}});
  auto meta = SafetensorsFile::open(dir.file("a.safetensors")).metadata();
  CHECK(meta == std::map<std::string, std::string>{{"format", "pt"}, {"step", "100"}, {"note", "héllo \"quoted\"\n"}});

  save_safetensors(dir.file("b.safetensors"), {{"x", ones({2})}}, {{"format", "mlx"}});
  CHECK(SafetensorsFile::open(dir.file("b.safetensors")).metadata() == std::map<std::string, std::string>{{"format", "mlx"}});
}

TEST_CASE("golden bytes of the reference writer") {
  TempDir dir;
  SafetensorsWriteOptions no_format{.add_format_pt = false};
  Tensor t = arange(0, 6, 1, DType::f32).reshape({1, 2, 3});

  SECTION("test_serialization: 96 bytes, no padding") {
    std::string golden = from_hex(
        "40000000000000007b226174746e2e30223a7b226474797065223a22463332222c227368617065223a5b312c322c335d2c22646174615f6f66667365"
        "7473223a5b302c32345d7d7d000000000000803f0000004000004040000080400000a040");
    REQUIRE(golden.size() == 96);
    save_safetensors(dir.file("g.safetensors"), {{"attn.0", t}}, {}, no_format);
    CHECK(read_file(dir.file("g.safetensors")) == golden);
    CHECK(as_string(serialize_safetensors({{"attn.0", t}}, {}, no_format)) == golden);

    write_file(dir.file("golden.safetensors"), golden);
    SafetensorsFile f = SafetensorsFile::open(dir.file("golden.safetensors"));
    CHECK(f.file_size() == 96);
    CHECK(f.header_size() == 64);
    CHECK(f.metadata().empty());
    REQUIRE(f.names() == std::vector<std::string>{"attn.0"});
    CHECK(f.info("attn.0").dtype == DType::f32);
    CHECK(f.info("attn.0").begin == 0);
    CHECK(f.info("attn.0").end == 24);
    CHECK(f.load("attn.0").to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  }
  SECTION("test_serialization_forced_alignement: the header is padded with spaces to a multiple of 8") {
    std::string json = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
    REQUIRE(json.size() == 65);
    std::string golden = le64(72) + json + std::string(7, ' ') + kF32_0to5;
    CHECK(as_string(serialize_safetensors({{"attn0", t.reshape({1, 1, 2, 3})}}, {}, no_format)) == golden);
    CHECK(SafetensorsFile::from_bytes("golden", std::vector<uint8_t>(golden.begin(), golden.end())).header_size() == 72);
  }
  SECTION("test_empty: no tensors, with and without metadata") {
    CHECK(as_string(serialize_safetensors({}, {}, no_format)) == le64(8) + "{}" + std::string(6, ' '));
    std::string with_meta = le64(40) + R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' ');
    CHECK(as_string(serialize_safetensors({}, {{"framework", "pt"}}, no_format)) == with_meta);
  }
  SECTION("the writer orders tensors by dtype, widest first, then by name") {
    NamedTensors tensors;
    for (DType dt : {DType::u8, DType::f16, DType::i32, DType::i8, DType::f32, DType::bf16, DType::i64, DType::f64})
      tensors.emplace_back(fmt::format("t_{}", dtype_name(dt)), zeros({1}, dt));
    tensors.emplace_back("a_f32", zeros({1}));
    std::vector<uint8_t> bytes = serialize_safetensors(tensors);
    CHECK(SafetensorsFile::from_bytes("ordered", bytes).names() ==
          std::vector<std::string>{"t_i64", "t_f64", "a_f32", "t_f32", "t_i32", "t_bf16", "t_f16", "t_i8", "t_u8"});
  }
}

TEST_CASE("the reader accepts what the reference accepts") {
  auto open = [](const std::string& bytes) { return SafetensorsFile::from_bytes("ok", std::vector<uint8_t>(bytes.begin(), bytes.end())); };
  CHECK(open(st_file("\t\n{}\r ")).entries().empty());                          // test_whitespace_leading_padded_header
  CHECK(open(st_file(R"({"s":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})", "abcd")).info("s").shape.empty());
  CHECK(open(st_file(R"({"z":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]}})")).load("z").numel() == 0);
  // Data at an odd offset (after a 1-byte tensor) is copied, not read through a misaligned pointer.
  SafetensorsFile f = open(st_file(R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"F32","shape":[6],"data_offsets":[1,25]}})",
                                   "\x07" + kF32_0to5));
  CHECK(f.names() == std::vector<std::string>{"b", "w"});
  CHECK(f.load("w").to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("a loaded tensor is counted by the allocator") {
  TempDir dir;
  save_safetensors(dir.file("m.safetensors"), {{"w", zeros({256})}});
  SafetensorsFile f = SafetensorsFile::open(dir.file("m.safetensors"));
  size_t before = memory_stats(Device::cpu()).current;
  Tensor w = f.load("w");
  CHECK(memory_stats(Device::cpu()).current - before == 1024);
}

TEST_CASE("a missing tensor name lists the closest ones") {
  TempDir dir;
  save_safetensors(dir.file("n.safetensors"), {{"h.0.attn.weight", ones({1})}, {"h.0.mlp.weight", ones({1})}, {"wte", ones({1})}});
  SafetensorsFile f = SafetensorsFile::open(dir.file("n.safetensors"));
  CHECK_FALSE(f.has("h.0.attn.wieght"));
  REQUIRE_THROWS_WITH(f.load("h.0.attn.wieght"), Catch::StartsWith(dir.file("n.safetensors")) &&
                                                     Catch::Contains("no tensor named 'h.0.attn.wieght'") &&
                                                     Catch::Contains("closest of its 3 tensors: 'h.0.attn.weight'"));
}

TEST_CASE("writer errors name the file and leave nothing behind") {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  REQUIRE_THROWS_WITH(save_safetensors(path, {{"a", ones({1})}, {"a", ones({2})}}),
                      Catch::StartsWith(path) && Catch::Contains("tensor name 'a' given twice"));
  REQUIRE_THROWS_WITH(save_safetensors(path, {{"__metadata__", ones({1})}}), Catch::Contains("cannot be named __metadata__"));
  REQUIRE_THROWS_WITH(save_safetensors(path, {{"u", Tensor()}}), Catch::Contains("tensor 'u' is undefined"));
  std::string nowhere = dir.file("no/such/dir/x.safetensors");
  REQUIRE_THROWS_WITH(save_safetensors(nowhere, {{"a", ones({1})}}),
                      Catch::StartsWith(nowhere) && Catch::Contains("cannot create the temporary file"));
  CHECK(fs::is_empty(dir.path));  // no file, no leftover .tmp
}

TEST_CASE("saving over an open file leaves the open one readable (temp file then rename)") {
  TempDir dir;
  std::string path = dir.file("r.safetensors");
  save_safetensors(path, {{"v", full({4}, 1.0)}});
  SafetensorsFile old = SafetensorsFile::open(path);
  save_safetensors(path, {{"v", full({4}, 2.0)}, {"extra", ones({1})}});
  CHECK(old.load("v").to_vector<float>() == std::vector<float>{1, 1, 1, 1});
  CHECK(SafetensorsFile::open(path).load("v").to_vector<float>() == std::vector<float>{2, 2, 2, 2});
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("malformed files are refused with a message naming the file and the problem") {
  const std::string f32_6 = R"("dtype":"F32","shape":[6],"data_offsets":)";
  struct Bad {
    const char* what;
    std::string bytes;
    const char* message;
  };
  std::vector<Bad> cases = {
      {"empty file", "", "too small for a safetensors file"},
      {"5 bytes", "abcde", "too small for a safetensors file"},
      {"header length over 100 MB", from_hex("3c000000000000ff"), "over the safetensors limit of 100000000 bytes"},
      {"header length past the end", from_hex("3c00000000000000"), "runs past the end of the file"},
      {"header not UTF-8", st_file("\xff"), "header is not valid UTF-8 (byte 0xff at file offset 8)"},
      {"overlong UTF-8", st_file("{\"\xc0\xaf\":1}"), "not valid UTF-8"},
      {"JSON cut short", st_file("{"), "header is not valid JSON"},
      {"garbage after the JSON", st_file("{} x"), "header is not valid JSON"},
      {"header is an array", st_file("[]"), "header must be a JSON object of tensors, found []"},
      {"entry is not an object", st_file(R"({"w":3})"), "tensor 'w': expected an object"},
      {"missing dtype", st_file(R"({"w":{"shape":[6],"data_offsets":[0,24]}})", kF32_0to5), "tensor 'w': missing \"dtype\""},
      {"missing data_offsets", st_file(R"({"w":{"dtype":"F32","shape":[6]}})", kF32_0to5), "missing \"data_offsets\""},
      {"extra key", st_file(R"({"w":{)" + f32_6 + R"([0,24],"foo":1}})", kF32_0to5), "unexpected key 'foo'"},
      {"dtype not a string", st_file(R"({"w":{"dtype":4,"shape":[6],"data_offsets":[0,24]}})", kF32_0to5), "dtype must be a string"},
      {"unknown dtype", st_file(R"({"w":{"dtype":"F33","shape":[6],"data_offsets":[0,24]}})", kF32_0to5),
       "unknown dtype 'F33' (expected one of F32 F64 BF16 F16 I8 U8 I32 I64)"},
      {"fp8 dtype", st_file(R"({"w":{"dtype":"F8_E4M3","shape":[24],"data_offsets":[0,24]}})", kF32_0to5),
       "dtype 'F8_E4M3' is valid safetensors but not supported by loralab"},
      {"bool dtype", st_file(R"({"w":{"dtype":"BOOL","shape":[24],"data_offsets":[0,24]}})", kF32_0to5), "not supported by loralab"},
      {"negative size", st_file(R"({"w":{"dtype":"F32","shape":[-6],"data_offsets":[0,24]}})", kF32_0to5),
       "shape must be an array of non-negative integers, found -6"},
      {"float size", st_file(R"({"w":{"dtype":"F32","shape":[6.0],"data_offsets":[0,24]}})", kF32_0to5), "non-negative integers, found 6.0"},
      {"shape overflow", st_file(R"({"w":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}})"), "overflows"},
      {"shape overflow (2^63)", st_file(R"({"w":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}})"), "overflows"},
      {"nine dims", st_file(R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,6],"data_offsets":[0,24]}})", kF32_0to5), "has 9 dims"},
      {"byte count != shape x dtype", st_file(R"({"w":{"dtype":"I32","shape":[2,2],"data_offsets":[0,4]}})", "abcd"),
       "data_offsets [0, 4] hold 4 bytes, expected 16 for I32 of shape [2, 2]"},
      {"offsets of one number", st_file(R"({"w":{)" + f32_6 + "[24]}}", kF32_0to5), "data_offsets must be [begin, end]"},
      {"negative offset", st_file(R"({"w":{)" + f32_6 + "[-1,23]}}", kF32_0to5), "data_offsets must be [begin, end]"},
      {"end before begin", st_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[24,0]}})", kF32_0to5), "end before they begin"},
      {"first tensor not at 0", st_file(R"({"w":{)" + f32_6 + "[4,28]}}", "abcd" + kF32_0to5), "begin at 4, expected 0"},
      {"hole", st_file(R"({"a":{)" + f32_6 + R"([0,24]},"b":{)" + f32_6 + "[28,52]}}", kF32_0to5 + "abcd" + kF32_0to5),
       "tensor 'b': data_offsets [28, 52] leave a hole after tensor 'a'"},
      {"overlap", st_file(R"({"a":{)" + f32_6 + R"([0,24]},"b":{)" + f32_6 + "[0,24]}}", kF32_0to5), "overlap tensor"},
      {"trailing bytes", st_file(R"({"w":{)" + f32_6 + "[0,24]}}", kF32_0to5 + "extra_bogus_data_for_polyglot_file"),
       "34 trailing bytes after the last tensor"},
      {"truncated data", st_file(R"({"w":{)" + f32_6 + "[0,24]}}", kF32_0to5.substr(0, 22)),
       "file is truncated: the tensors need 24 bytes of data after the header, found 22"},
      {"duplicate tensor name", st_file(R"({"w":{)" + f32_6 + R"([0,24]},"w":{)" + f32_6 + "[24,48]}}", kF32_0to5 + kF32_0to5),
       "tensor name 'w' appears twice"},
      {"duplicate key in an entry", st_file(R"({"w":{"dtype":"F32","dtype":"F32","shape":[6],"data_offsets":[0,24]}})", kF32_0to5),
       "key 'dtype' appears twice in the entry 'w'"},
      {"metadata value not a string", st_file(R"({"__metadata__":{"step":100}})"), "__metadata__ value of 'step' must be a string"},
      {"metadata not an object", st_file(R"({"__metadata__":"pt"})"), "__metadata__ must be an object"},
      {"nested too deep", st_file(R"({"w":{"shape":[[6]]}})"), "nests deeper than a safetensors header can"},
      {"control bytes in a name are escaped", st_file("{\"a\\nb\":3}"), "tensor 'a\\x0ab': expected an object"},
  };
  TempDir dir;
  for (size_t i = 0; i < cases.size(); i++) {
    const Bad& c = cases[i];
    DYNAMIC_SECTION(c.what) {
      std::string path = dir.file(fmt::format("bad_{}.safetensors", i));
      write_file(path, c.bytes);
      REQUIRE_THROWS_WITH(SafetensorsFile::open(path), Catch::StartsWith(path + ": ") && Catch::Contains(c.message));
      REQUIRE_THROWS_AS(SafetensorsFile::open(path), Error);
      std::vector<uint8_t> bytes(c.bytes.begin(), c.bytes.end());
      REQUIRE_THROWS_WITH(parse_safetensors("mem", bytes.data(), bytes.size()), Catch::StartsWith("mem: ") && Catch::Contains(c.message));
    }
  }
}

TEST_CASE("the committed fixtures: good ones load and every bad one is refused") {
  // tests/data/safetensors/ comes from tests/reference/make_safetensors_fixtures.py; the CLI test uses it too.
  std::string dir = std::string(LAB_TEST_DATA_DIR) + "/safetensors";
  SafetensorsFile mixed = SafetensorsFile::open(dir + "/good_mixed.safetensors");
  CHECK(mixed.names() == std::vector<std::string>{"h.0.mlp.weight", "h.0.ln.bias", "tokens", "flags", "h.0.ln.weight", "empty"});
  CHECK(mixed.metadata().at("step") == "100");
  CHECK(mixed.load("h.0.mlp.weight").to_vector<float>() == std::vector<float>{-1.5f, 0, 0.25f, 1, 2, 3.5f});
  CHECK(mixed.load("h.0.ln.bias").to_vector<float>() == std::vector<float>{1, -2});
  CHECK(mixed.load("h.0.ln.weight").to_vector<float>() == std::vector<float>{1, -2});
  CHECK(mixed.load("tokens").item<int64_t>() == 42);
  CHECK(mixed.load("flags").to_vector<int64_t>() == std::vector<int64_t>{0, 1, 255});
  int bad = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string path = entry.path().string();
    if (entry.path().filename().string().rfind("bad_", 0) != 0) continue;
    bad++;
    REQUIRE_THROWS_WITH(SafetensorsFile::open(path), Catch::StartsWith(path + ": "));
  }
  CHECK(bad >= 10);
}

TEST_CASE("opening what is not a file") {
  TempDir dir;
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir.file("missing.safetensors")),
                      Catch::StartsWith(dir.file("missing.safetensors")) && Catch::Contains("cannot open: No such file or directory"));
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir.path.string()), Catch::Contains("is a directory, expected a safetensors file"));
}

TEST_CASE("every truncation and random byte flips of a good file give a lab::Error or a good parse and nothing else") {
  NamedTensors tensors = {{"a", arange(0, 6, 1, DType::f32).reshape({2, 3})}, {"b", ones({3}, DType::i64)}, {"c", zeros({0}, DType::bf16)}};
  std::vector<uint8_t> good = serialize_safetensors(tensors, {{"k", "v"}});
  for (size_t n = 0; n < good.size(); n++) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + std::ptrdiff_t(n));  // a vector of its own, so ASan sees any overread
    REQUIRE_THROWS_AS(parse_safetensors("prefix", prefix.data(), prefix.size()), Error);
  }
  std::mt19937 rng(1234);
  int parsed = 0, refused = 0;
  for (int trial = 0; trial < 3000; trial++) {
    std::vector<uint8_t> bytes = good;
    for (int flips = 1 + int(rng() % 3); flips > 0; flips--) bytes[rng() % bytes.size()] = uint8_t(rng());
    try {
      SafetensorsFile f = SafetensorsFile::from_bytes("flipped", bytes);
      for (const SafetensorsEntry& e : f.entries()) CHECK(f.load(e.name).nbytes() == e.nbytes());
      parsed++;
    } catch (const Error&) {
      refused++;
    }
  }
  CHECK(parsed > 0);  // flips in the data section leave a good file
  CHECK(refused > 0);
}
