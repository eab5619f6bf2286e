// loralab on the LLaMA family, from the outside: inspect --model, eval, generate with and without the
// KV cache, train --dry-run / --lora / --qlora, merge and quantize on the sharded fixtures of
// tests/reference/make_llama_fixture.py, and one line on stderr for a LLaMA folder loralab cannot read.
#include "tests/tools/run_loralab.h"

#include "tensor/safetensors.h"

#include <filesystem>
#include <string>

namespace fs = std::filesystem;

namespace {

const std::string kF32 = LAB_TEST_DATA_DIR "/reference/llama_tiny";
const std::string kBF16 = LAB_TEST_DATA_DIR "/reference/llama_tiny_bf16";

// The text both families train and evaluate on: a few hundred bytes, one token a byte.
std::string text_file() {
  const fs::path p = test_temp_dir("llama") / "text.txt";
  if (!fs::exists(p)) {
    std::string s;
    for (int i = 0; i < 40; i++) s += "the cat sat on the mat and the dog ran after it. ";
    write_file_text(p, s);
  }
  return p.string();
}

// The line of `out` that starts with `key`.
std::string line_of(const std::string& out, const std::string& key) {
  size_t at = out.find("\n" + key);
  at = out.rfind(key, 0) == 0 ? 0 : (at == std::string::npos ? at : at + 1);
  if (at == std::string::npos) return "";
  return out.substr(at, out.find('\n', at) - at);
}

}  // namespace

TEST_CASE("loralab inspect --model reads a LLaMA's family, parameters, dtype and shards from the headers") {
  CliResult r = run_loralab({"inspect", "--model", kBF16});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("family      llama"));
  CHECK_THAT(r.out, Catch::Contains("2 kv heads"));
  CHECK_THAT(r.out, Catch::Contains("parameters  90432"));  // transformers' num_parameters(), the tied head once
  CHECK_THAT(r.out, Catch::Contains("BF16 (20 tensors) (converted to F32 on load)"));
  CHECK_THAT(r.out, Catch::Contains("2 files, sharded by model.safetensors.index.json"));
  CHECK_THAT(r.out, Catch::Contains("q_proj, v_proj"));
  CliResult both = run_loralab({"inspect", "--model", kBF16, kBF16});
  CHECK(both.code == 2);
}

TEST_CASE("loralab generate on a LLaMA: the KV cache gives the same tokens as re-reading the window") {
  for (const std::string& temperature : {"0", "1"}) {
    std::vector<std::string> args = {"generate", "--model", kF32, "--prompt", "the cat", "--max-new-tokens", "80", "--temperature", temperature,
                                     "--seed", "5"};
    CliResult cached = run_loralab(args);
    args.push_back("--no-kv-cache");
    CliResult uncached = run_loralab(args);
    INFO(cached.err << uncached.err);
    REQUIRE(cached.code == 0);
    REQUIRE(uncached.code == 0);
    CHECK(cached.out.size() == 7 + 80 + 1);  // 80 tokens pass the context of 64: the window slides
    CHECK(cached.out == uncached.out);
  }
}

TEST_CASE("loralab train --dry-run prints full fine-tuning, LoRA and QLoRA from the headers alone") {
  CliResult r = run_loralab({"train", "--model", kF32, "--dry-run", "--batch", "4", "--seq-len", "64"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("by the accounting 106816"));  // the accounting's count agrees with the files
  CHECK_THAT(line_of(r.out, "  full fine-tuning, f32"), Catch::Contains("106816"));
  CHECK_THAT(line_of(r.out, "  LoRA, f32 base"), Catch::Contains("3584"));  // r 8 on q (64 -> 64) and v (64 -> 32), 2 layers
  CHECK_THAT(line_of(r.out, "  QLoRA, NF4 + double quant base"), Catch::Contains("3584"));
  CHECK_FALSE(fs::exists("runs/train/checkpoint.safetensors.tmp"));
  CliResult targets = run_loralab({"train", "--model", kF32, "--dry-run", "--target", "gate_proj", "--lora-r", "2"});
  CHECK_THAT(line_of(targets.out, "  LoRA, f32 base"), Catch::Contains(std::to_string(2 * 2 * (64 + 128))));
}

TEST_CASE("loralab train --lora on a LLaMA writes PEFT's adapter, and eval with it equals eval of the merged model") {
  const fs::path dir = test_temp_dir("llama");
  const std::string text = text_file(), out = (dir / "lora").string();
  CliResult t = run_loralab({"train", "--model", kF32, "--lora", "--data", text, "--steps", "6", "--batch", "2", "--seq-len", "32", "--lr", "1e-2",
                             "--eval-every", "0", "--out", out, "--fresh"});
  INFO(t.out << t.err);
  REQUIRE(t.code == 0);
  CHECK_THAT(t.out, Catch::Contains("trainable params: 3,584"));
  lab::SafetensorsFile a = lab::SafetensorsFile::open(out + "/adapter/adapter_model.safetensors");
  CHECK(a.has("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  CHECK(a.has("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"));
  CHECK(a.entries().size() == 8);

  CliResult base = run_loralab({"eval", "--model", kF32, "--text", text});
  CliResult adapted = run_loralab({"eval", "--model", kF32, "--text", text, "--adapter", out + "/adapter"});
  REQUIRE(base.code == 0);
  REQUIRE(adapted.code == 0);
  CliResult m = run_loralab({"merge", "--model", kF32, "--adapter", out + "/adapter", "--out", (dir / "merged").string()});
  REQUIRE(m.code == 0);
  CliResult merged = run_loralab({"eval", "--model", (dir / "merged").string(), "--text", text});
  REQUIRE(merged.code == 0);
  CHECK(line_of(adapted.out, "loss") == line_of(merged.out, "loss"));
  CHECK(line_of(adapted.out, "loss") != line_of(base.out, "loss"));
}

TEST_CASE("loralab train --qlora and quantize on a bf16 sharded LLaMA") {
  const fs::path dir = test_temp_dir("llama");
  const std::string text = text_file();
  CliResult t = run_loralab({"train", "--model", kBF16, "--qlora", "--data", text, "--steps", "2", "--batch", "2", "--seq-len", "16",
                             "--eval-every", "0", "--out", (dir / "qlora").string(), "--fresh"});
  INFO(t.out << t.err);
  REQUIRE(t.code == 0);
  CHECK_THAT(t.out, Catch::Contains("14 linear layers to NF4"));  // 7 a layer; the head is tied (embed_tokens stays f32)
  CHECK(fs::exists(dir / "qlora" / "adapter" / "adapter_config.json"));

  CliResult q = run_loralab({"quantize", "--model", kF32, "--out", (dir / "nf4").string()});
  INFO(q.out << q.err);
  REQUIRE(q.code == 0);
  CHECK_THAT(q.out, Catch::Contains("14 linear layers to NF4"));  // lm_head stays f32, as transformers' llm_int8_skip_modules
  CliResult i = run_loralab({"inspect", "--model", (dir / "nf4").string()});
  CHECK_THAT(i.out, Catch::Contains("NF4-quantized"));
  CliResult e = run_loralab({"eval", "--model", (dir / "nf4").string(), "--text", text});
  CHECK(e.code == 0);
}

TEST_CASE("loralab on LLaMA folders it cannot read: one line, exit 1") {
  const fs::path dir = test_temp_dir("llama") / "bad";
  fs::create_directories(dir);
  auto copy = [&](const std::string& name) {
    const fs::path d = dir / name;
    fs::create_directories(d);
    for (const auto& e : fs::directory_iterator(kF32)) fs::copy_file(e.path(), d / e.path().filename(), fs::copy_options::overwrite_existing);
    return d;
  };
  const fs::path scaled = copy("scaled");
  std::string config = read_file_text(scaled / "config.json");
  config.replace(config.find("\"rope_scaling\": null"), 20, R"("rope_scaling": {"rope_type": "llama3", "factor": 8.0})");
  write_file_text(scaled / "config.json", config);
  const fs::path missing = copy("missing_shard");
  fs::remove(missing / "model-00002-of-00003.safetensors");
  check_bad_inputs({{"rope_scaling set", {"eval", "--model", scaled.string(), "--text", text_file()}, 1, "rope_scaling"},
                    {"a shard missing", {"generate", "--model", missing.string(), "--prompt", "x"}, 1, "model-00002-of-00003.safetensors is listed"},
                    {"--lora without --model", {"train", "--lora"}, 2, "give --model DIR"}},
                   dir.string(), "$TMP");
}
