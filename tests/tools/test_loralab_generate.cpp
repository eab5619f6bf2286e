// `loralab generate` from the outside: it prints the prompt then the continuation, greedy output
// and seeded samples repeat exactly, and every bad flag or model gets one line on stderr and the
// right exit status (1: the command failed, 2: a bad command line). Files from cli_files.h.
#include "tests/tools/cli_files.h"

#include "tensor/device.h"

namespace {

std::vector<std::string> generate_with(const std::string& model, std::vector<std::string> flags) {
  std::vector<std::string> args = {"generate", "--model", model, "--prompt", "mia has a "};
  args.insert(args.end(), flags.begin(), flags.end());
  return args;
}

}  // namespace

TEST_CASE("loralab generate prints the prompt and its continuation, repeatably") {
  const CliFiles& f = cli_files();
  CliResult greedy = run_loralab(generate_with(f.model, {"--temperature", "0", "--max-new-tokens", "5"}));
  INFO("stdout: " << greedy.out << "\nstderr: " << greedy.err);
  REQUIRE(greedy.code == 0);
  CHECK(greedy.err.empty());
  // prompt + 5 bytes + "\n" (a byte of the continuation may itself be a newline)
  REQUIRE(greedy.out.size() == std::string("mia has a ").size() + 5 + 1);
  CHECK(greedy.out.rfind("mia has a ", 0) == 0);
  CHECK(greedy.out.back() == '\n');
  CHECK(run_loralab(generate_with(f.model, {"--temperature", "0", "--max-new-tokens", "5"})).out == greedy.out);
  // top-k 1 is greedy whatever the temperature and the seed
  CHECK(run_loralab(generate_with(f.model, {"--top-k", "1", "--seed", "9", "--max-new-tokens", "5"})).out == greedy.out);

  CliResult a = run_loralab(generate_with(f.model, {"--seed", "3", "--max-new-tokens", "40"}));
  CliResult b = run_loralab(generate_with(f.model, {"--seed", "3", "--max-new-tokens", "40"}));
  CliResult c = run_loralab(generate_with(f.model, {"--seed", "4", "--max-new-tokens", "40"}));
  REQUIRE(a.code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);  // 40 draws from a near-uniform model: the same text twice is all but impossible
  // A prompt longer than the context (16): the model reads its last 16 bytes.
  CliResult longer = run_loralab({"generate", "--model", f.model, "--prompt", std::string(40, 'z'), "--max-new-tokens", "3"});
  CHECK(longer.code == 0);
  CHECK(longer.out.size() == 40 + 3 + 1);
}

TEST_CASE("loralab generate on bad flags and models") {
  const CliFiles& f = cli_files();
  std::vector<BadInput> rows = {
      {"no --prompt", {"generate", "--model", f.model}, 2, "--prompt is required"},
      {"--prompt empty", {"generate", "--model", f.model, "--prompt", ""}, 2, "--prompt: must not be empty"},
      {"no --model", {"generate", "--prompt", "hi"}, 2, "--model is required"},
      {"--max-new-tokens 0", generate_with(f.model, {"--max-new-tokens", "0"}), 2, "--max-new-tokens: must be a whole number >= 1, got '0'"},
      {"--max-new-tokens a fraction", generate_with(f.model, {"--max-new-tokens", "2.5"}), 2, "--max-new-tokens: must be a whole number >= 1, got '2.5'"},
      {"--temperature negative", generate_with(f.model, {"--temperature", "-0.5"}), 2, "--temperature: must be a finite number >= 0, got '-0.5'"},
      {"--temperature nan", generate_with(f.model, {"--temperature", "nan"}), 2, "--temperature: must be a finite number >= 0, got 'nan'"},
      {"--temperature inf", generate_with(f.model, {"--temperature", "inf"}), 2, "--temperature: must be a finite number >= 0, got 'inf'"},
      {"--top-k negative", generate_with(f.model, {"--top-k", "-1"}), 2, "--top-k: must be a whole number >= 0, got '-1'"},
      {"--top-k past the vocabulary", generate_with(f.model, {"--top-k", "257"}), 1, "--top-k 257 is more than the vocabulary of 256 tokens"},
      {"--seed negative", generate_with(f.model, {"--seed", "-1"}), 2, "--seed: must be a whole number >= 0, got '-1'"},
      {"--device malformed", generate_with(f.model, {"--device", "cuda:x"}), 2, "--device: unknown device 'cuda:x'"},
      {"model folder missing", generate_with(f.dir.string() + "/nowhere", {}), 2, "no such folder"},
      {"model folder is a file", generate_with(f.a_file, {}), 2, "is a file, expected a folder"},
      {"model folder without config.json", generate_with(f.no_config, {}), 1, "no_config/config.json: no such file"},
      {"model folder without model.safetensors", generate_with(f.no_weights, {}), 1, "no_weights/model.safetensors: no such file"},
      {"model not byte-level (vocab 300)", generate_with(f.vocab_300, {}), 1, "generate reads --prompt as bytes, so it needs a byte-level model (vocab_size 256)"},
  };
  if (!lab::cuda_available()) rows.push_back({"--device cuda without a GPU", generate_with(f.model, {"--device", "cuda"}), 2, "is not usable"});
  check_bad_inputs(rows, f.dir.string(), "$TMP");
}
