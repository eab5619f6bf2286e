// `loralab eval` from the outside: the loss it prints on the fixture checkpoint equals PyTorch's,
// and every bad model folder, data file and flag gets one line on stderr and the right exit status
// (1: the command failed, 2: a bad command line). The files are made by cli_files.h.
#include "tests/tools/cli_files.h"

#include "tensor/safetensors.h"
#include "tensor/device.h"

#include <algorithm>
#include <cmath>

namespace fs = std::filesystem;

namespace {

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += std::to_string(id) + (s.size() % 60 > 50 ? "\n" : " ");
  return s;
}

}  // namespace

TEST_CASE("loralab eval prints the next-token loss of PyTorch's logits on the fixture ids") {
  // The fixture's targets are random (not the next ids, some -100), so no token file gives its `loss`.
  // Its logits [2, 16, 256] are PyTorch's, though, and position t of a window sees only tokens <= t:
  // the loss eval must print is the cross-entropy of those logits against the next ids, computed here.
  const CliFiles& f = cli_files();
  lab::SafetensorsFile expected = lab::SafetensorsFile::open(std::string(LAB_TEST_DATA_DIR) + "/reference/gpt2_tiny_expected.safetensors");
  const std::vector<int64_t> ids = expected.load("ids").to_vector<int64_t>();          // [2, 16]
  const std::vector<int64_t> targets = expected.load("targets").to_vector<int64_t>();  // [2, 16]
  const std::vector<double> logits = expected.load("logits").to_vector<double>();      // [2, 16, 256]
  REQUIRE(ids.size() == 32);
  REQUIRE(logits.size() == 32 * 256);
  // -log softmax(logits[b, t])[target] = logsumexp(z) - z[target], in double
  auto nll = [&](int64_t b, int64_t t, int64_t target) {
    const double* z = logits.data() + (b * 16 + t) * 256;
    double m = *std::max_element(z, z + 256), s = 0;
    for (int v = 0; v < 256; v++) s += std::exp(z[v] - m);
    return m + std::log(s) - z[target];
  };
  // This nll reproduces the fixture's own loss (mean over the targets that are not -100).
  double sum = 0;
  int counted = 0;
  for (int64_t i = 0; i < 32; i++)
    if (targets[size_t(i)] != -100) sum += nll(i / 16, i % 16, targets[size_t(i)]), counted++;
  REQUIRE(sum / counted == Approx(expected.load("loss").item<double>()).epsilon(1e-5));

  // The 32 ids in a file: window 0 reads ids[0, 0..15] and predicts ids[0, 1..15] then ids[1, 0];
  // window 1 reads ids[1, 0..14] and predicts ids[1, 1..15]. 31 predictions in all.
  double want = 0;
  for (int64_t t = 0; t < 16; t++) want += nll(0, t, t < 15 ? ids[size_t(t + 1)] : ids[16]);
  for (int64_t t = 0; t < 15; t++) want += nll(1, t, ids[size_t(16 + t + 1)]);
  want /= 31;
  const fs::path file = f.dir / "fixture_ids.txt";
  write_file_text(file, join_ids(ids));
  for (const char* batch : {"8", "1"}) {
    CliResult r = run_loralab({"eval", "--model", f.model, "--tokens", file.string(), "--batch", batch});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Catch::Contains("32 tokens (token ids)"));
    CHECK_THAT(r.out, Catch::Contains("2 of 16 tokens (the last 15)"));
    CHECK_THAT(r.out, Catch::Contains("over 31 predicted tokens"));
    CHECK(printed_value(r.out, "loss") == Approx(want).epsilon(1e-5));
    CHECK(printed_value(r.out, "perplexity") == Approx(std::exp(want)).epsilon(1e-4));
  }
}

TEST_CASE("loralab eval cuts a file into non-overlapping windows, batched or not") {
  const CliFiles& f = cli_files();
  // n bytes -> n - 1 predicted tokens, in ceil((n - 1) / T) windows; the mean loss is the same
  // whatever the batch.
  CliResult one = run_loralab({"eval", "--model", f.model, "--text", f.text, "--batch", "1"});
  CliResult many = run_loralab({"eval", "--model", f.model, "--text", f.text, "--batch", "3"});
  INFO("stdout: " << one.out << "\nstderr: " << one.err);
  REQUIRE(one.code == 0);
  REQUIRE(many.code == 0);
  const int64_t n = int64_t(read_file_text(f.text).size());
  CHECK_THAT(one.out, Catch::Contains(std::to_string(n) + " tokens (text, one token per byte)"));
  CHECK_THAT(one.out, Catch::Contains(fmt::format("over {} predicted tokens", n - 1)));
  CHECK_THAT(one.out, Catch::Contains(fmt::format("{} of 16 tokens (the last {})", (n - 1 + 15) / 16, (n - 1) % 16)));
  CHECK(printed_value(one.out, "loss") == Approx(printed_value(many.out, "loss")).epsilon(1e-6));
  CliResult short_windows = run_loralab({"eval", "--model", f.model, "--text", f.text, "--seq-len", "4"});
  REQUIRE(short_windows.code == 0);
  CHECK_THAT(short_windows.out, Catch::Contains(fmt::format("{} of 4 tokens", (n - 1 + 3) / 4)));
  // A random byte-level model knows nothing: its loss is near ln 256 = 5.545 nats.
  CHECK(printed_value(one.out, "loss") > 4.5);
  CHECK(printed_value(one.out, "loss") < 6.5);
}

TEST_CASE("loralab eval on bad model folders") {
  const CliFiles& f = cli_files();
  auto eval_text = [&](const std::string& model) { return std::vector<std::string>{"eval", "--model", model, "--text", f.text}; };
  check_bad_inputs(
      {
          {"model folder missing", eval_text(f.dir.string() + "/nowhere"), 2, "--model: " + f.dir.string() + "/nowhere: no such folder"},
          {"model folder is a file", eval_text(f.a_file), 2, "is a file, expected a folder"},
          {"no config.json", eval_text(f.no_config), 1, "no_config/config.json: no such file"},
          {"config.json not JSON", eval_text(f.bad_json), 1, "bad_json/config.json: not valid JSON"},
          {"config.json: n_head does not divide n_embd", eval_text(f.bad_field), 1, "n_embd (32) must be a multiple of n_head (3)"},
          {"config.json: n_layer a string", eval_text(f.bad_type), 1, "n_layer must be an integer"},
          {"no model.safetensors", eval_text(f.no_weights), 1, "no_weights/model.safetensors: no such file"},
          {"model.safetensors truncated", eval_text(f.truncated), 1, "truncated/model.safetensors: file is truncated"},
          {"tensor shape differs from config.json", eval_text(f.wrong_shape), 1, "expected transformer.wpe.weight of shape [32, 32], found [16, 32]"},
          {"tensor missing", eval_text(f.missing_tensor), 1, "model.safetensors: 1 missing tensor(s): ln_f.bias"},
          {"--text with a vocab-300 model", eval_text(f.vocab_300), 1, "needs a byte-level model (vocab_size 256)"},
      },
      f.dir.string(), "$TMP");
}

TEST_CASE("loralab eval on bad token-id and text files") {
  const CliFiles& f = cli_files();
  // `loralab eval --model GOOD <flag> FILE`, FILE holding `text`
  auto with_file = [&](const std::string& flag, const std::string& name, const std::string& text) {
    write_file_text(f.dir / name, text);
    return std::vector<std::string>{"eval", "--model", f.model, flag, (f.dir / name).string()};
  };
  auto tokens_file = [&](const std::string& name, const std::string& text) { return with_file("--tokens", name, text); };
  check_bad_inputs(
      {
          {"token id not a number", tokens_file("word.txt", "1 2\n3 abc 5\n"), 1, "word.txt:2:3: token 'abc' is not a token id"},
          {"token id >= vocab_size", tokens_file("big.txt", "1 2 256 3"), 1, "big.txt:1:5: token id 256 is too large: ids must be in [0, 256)"},
          {"token id negative", tokens_file("negative.txt", "1 -2 3"), 1, "negative.txt:1:3: token id '-2' is negative"},
          {"token id past int64", tokens_file("overflow.txt", "1 99999999999999999999999"), 1, "overflow.txt:1:3: token id '99999999999999999999999' does not fit in 64 bits"},
          {"tokens file empty", tokens_file("empty.txt", ""), 1, "empty.txt: is empty"},
          {"one token only", tokens_file("one.txt", "7\n"), 1, "one.txt: 1 token, need at least 2"},
          {"tokens file missing", {"eval", "--model", f.model, "--tokens", f.dir.string() + "/none.txt"}, 2, "--tokens: " + f.dir.string() + "/none.txt: no such file"},
          {"tokens file is a folder", {"eval", "--model", f.model, "--tokens", f.empty_dir}, 2, "is a folder, expected a file"},
          {"text file missing", {"eval", "--model", f.model, "--text", f.dir.string() + "/none.txt"}, 2, "--text: " + f.dir.string() + "/none.txt: no such file"},
          {"text file is a folder", {"eval", "--model", f.model, "--text", f.empty_dir}, 2, "is a folder, expected a file"},
          {"text file empty", with_file("--text", "empty_text.txt", ""), 1, "empty_text.txt: is empty"},
          {"text file of one byte", with_file("--text", "one_byte.txt", "x"), 1, "one_byte.txt: 1 token, need at least 2"},
      },
      f.dir.string(), "$TMP");
}

TEST_CASE("loralab eval on bad flags") {
  const CliFiles& f = cli_files();
  auto eval_with = [&](std::vector<std::string> flags) {
    std::vector<std::string> args = {"eval", "--model", f.model, "--text", f.text};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  };
  std::vector<BadInput> rows = {
      {"neither --text nor --tokens", {"eval", "--model", f.model}, 2, "give exactly one of --text FILE (bytes) or --tokens FILE (token ids), got neither"},
      {"both --text and --tokens", eval_with({"--tokens", f.text}), 2, "got both"},
      {"no --model", {"eval", "--text", f.text}, 2, "--model is required"},
      {"--seq-len 0", eval_with({"--seq-len", "0"}), 2, "--seq-len: must be a whole number >= 1, got '0'"},
      {"--seq-len negative", eval_with({"--seq-len", "-4"}), 2, "--seq-len: must be a whole number >= 1, got '-4'"},
      {"--seq-len not a number", eval_with({"--seq-len", "16k"}), 2, "--seq-len: must be a whole number >= 1, got '16k'"},
      {"--seq-len past the context", eval_with({"--seq-len", "17"}), 1, "--seq-len 17 is longer than the model's context: n_positions is 16"},
      {"--batch 0", eval_with({"--batch", "0"}), 2, "--batch: must be a whole number >= 1, got '0'"},
      {"--device unknown", eval_with({"--device", "tpu"}), 2, "--device: unknown device 'tpu' (allowed: cpu, cuda, cuda:N)"},
      {"unknown flag", eval_with({"--bogus"}), 2, "--bogus"},
  };
  if (!lab::cuda_available()) rows.push_back({"--device cuda without a GPU", eval_with({"--device", "cuda"}), 2, "--device: device cuda:0 is not usable"});
  check_bad_inputs(rows, f.dir.string(), "$TMP");
}
