// `loralab quantize` from the outside: the fixture GPT to NF4 with and without double quantization,
// the folder it writes (bitsandbytes' entries, transformers' quantization_config) read back by
// quant::load_gpt_nf4, and every bad flag or folder answered with one line and the right exit status.
#include "tests/tools/cli_files.h"

#include "quant/nf4_io.h"
#include "quant/quantize_model.h"
#include "tensor/json_io.h"

TEST_CASE("loralab quantize writes an NF4 folder that loads back") {
  const CliFiles& f = cli_files();
  for (bool dq : {false, true}) {
    const std::string out = (f.dir / (dq ? "nf4_dq" : "nf4")).string();
    std::vector<std::string> args = {"quantize", "--model", f.model, "--out", out};
    if (dq) args.push_back("--double-quant");
    CliResult r = run_loralab(args);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Catch::Contains("8 linear layers to NF4"));
    CHECK_THAT(r.out, Catch::Contains(dq ? "double quantization on" : "double quantization off"));
    lab::SafetensorsFile file = lab::SafetensorsFile::open(out + "/model.safetensors");
    CHECK(lab::quant::nf4_names(file).size() == 8);
    CHECK(file.has("transformer.h.1.mlp.c_proj.weight.nested_absmax") == dq);
    nlohmann::json config = lab::json_io::parse(read_file_text(out + "/config.json"));
    CHECK(config["quantization_config"]["bnb_4bit_use_double_quant"] == dq);
    CHECK(config["n_layer"] == 2);
    auto model = lab::quant::load_gpt_nf4(out);
    CHECK(lab::quant::nf4_weight_bytes(*model) > 0);
    CHECK(model->num_parameters() < lab::nn::load_gpt(f.model)->num_parameters());
  }
}

TEST_CASE("loralab quantize on bad flags and folders") {
  const CliFiles& f = cli_files();
  const std::string out = (f.dir / "nf4_bad").string();
  std::vector<BadInput> rows = {
      {"no --model", {"quantize", "--out", out}, 2, "--model is required"},
      {"no --out", {"quantize", "--model", f.model}, 2, "--out is required"},
      {"--blocksize not a power of two", {"quantize", "--model", f.model, "--out", out, "--blocksize", "48"}, 2,
       "--blocksize: must be a power of two from 32 to 4096, got '48'"},
      {"--out is the model folder", {"quantize", "--model", f.model, "--out", f.model}, 2, "is the --model folder"},
      {"model folder missing", {"quantize", "--model", f.dir.string() + "/nowhere", "--out", out}, 2, "no such folder"},
      {"model without weights", {"quantize", "--model", f.no_weights, "--out", out}, 1, "no such file"},
      {"model with a wrong shape", {"quantize", "--model", f.wrong_shape, "--out", out}, 1, "wpe.weight"},
      {"--out is a file", {"quantize", "--model", f.model, "--out", f.a_file}, 1, "cannot create the folder"},
  };
  check_bad_inputs(rows, f.dir.string(), "$TMP");
}
