// save_llama / save_causal_lm sharding (nn/llama_checkpoint.h): the fixture llama_tiny, which
// transformers saved with max_shard_size="200KB" (tests/reference/make_llama_fixture.py), written again
// at 200,000 bytes gives transformers' own split and index; written at a tiny size it reloads bit for
// bit; and saving over an earlier save, sharded or not, leaves only the new files.
#include <catch2/catch.hpp>

#include "nn/causal_lm.h"
#include "nn/llama.h"
#include "nn/llama_checkpoint.h"
#include "tensor/all.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace lab;
namespace fs = std::filesystem;

namespace {

const std::string kTinyLlama = LAB_TEST_DATA_DIR "/reference/llama_tiny";

fs::path shard_temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / fmt::format("loralab_test_llama_shards_{}_{}", getpid(), name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}


std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// Every parameter of a and b holds the same bits.
void check_same_bits(const nn::Module& a, const nn::Module& b) {
  const NamedTensors pa = a.named_parameters(), pb = b.named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); i++) {
    INFO(pa[i].first);
    REQUIRE(pa[i].first == pb[i].first);
    CHECK(pa[i].second.to_vector<float>() == pb[i].second.to_vector<float>());
  }
}

}  // namespace

TEST_CASE("save_llama shards as save_pretrained does, and the shards reload bit for bit") {
  auto model = nn::load_llama(kTinyLlama);

  SECTION("200KB: transformers' split of the fixture, and its index") {
    const fs::path dir = shard_temp_dir("hf");
    nn::save_causal_lm(*model, dir.string(), 200'000);
    CHECK(files_in(dir) == std::set<std::string>{"config.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                                 "model-00003-of-00003.safetensors", "model.safetensors.index.json"});
    CHECK(lab::json_io::read_file(dir / "model.safetensors.index.json") == lab::json_io::read_file(fs::path(kTinyLlama) / "model.safetensors.index.json"));
    check_same_bits(*model, *nn::load_llama(dir.string()));
    fs::remove_all(dir);
  }

  SECTION("a tiny size: each shard within it unless one tensor alone is larger, and the same bits back") {
    const fs::path dir = shard_temp_dir("tiny");
    const uint64_t max = 20'000;  // embed_tokens, lm_head and the MLP weights (65,536 and 32,768 bytes) each get a shard of their own
    nn::save_llama(*model, dir.string(), max);
    const nlohmann::json index = lab::json_io::read_file(dir / "model.safetensors.index.json");
    std::map<std::string, std::vector<std::string>> by_shard;
    for (const auto& [tensor, shard] : index["weight_map"].items()) by_shard[shard.get<std::string>()].push_back(tensor);
    const size_t n = by_shard.size();
    CHECK(n > 10);
    uint64_t total = 0;
    size_t i = 1;
    for (const auto& [shard, tensors] : by_shard) {  // model-00001-of-000NN ... in order, each as listed
      INFO(shard);
      CHECK(shard == fmt::format("model-{:05d}-of-{:05d}.safetensors", i++, n));
      SafetensorsFile f = SafetensorsFile::open((dir / shard).string());
      CHECK(f.entries().size() == tensors.size());
      uint64_t bytes = 0;
      for (const SafetensorsEntry& e : f.entries()) bytes += uint64_t(e.nbytes());
      CHECK((bytes <= max || tensors.size() == 1));
      total += bytes;
    }
    CHECK(index["metadata"]["total_size"].get<uint64_t>() == total);
    CHECK(total == uint64_t(4 * model->num_parameters()));
    CHECK_FALSE(fs::exists(dir / "model.safetensors"));
    check_same_bits(*model, *nn::load_llama(dir.string()));

    // over it, one file: the index and every shard go
    nn::save_llama(*model, dir.string());
    CHECK(files_in(dir) == std::set<std::string>{"config.json", "model.safetensors"});
    check_same_bits(*model, *nn::load_llama(dir.string()));
    // and sharded again over that: model.safetensors goes; then 3 shards over many: the others go
    nn::save_llama(*model, dir.string(), max);
    CHECK_FALSE(fs::exists(dir / "model.safetensors"));
    nn::save_llama(*model, dir.string(), 200'000);
    CHECK(files_in(dir).size() == 5);
    check_same_bits(*model, *nn::load_llama(dir.string()));
    CHECK_THROWS_WITH(nn::save_llama(*model, dir.string(), 0), Catch::Contains("max_shard_bytes must be positive"));
    fs::remove_all(dir);
  }
}
