// loralab: the command-line tool. main() is the one place that turns problems into exit codes:
//   0  done (or --help)
//   1  the command ran and failed: a bad or missing file, any lab::Error; one line on stderr
//   2  the command line itself is wrong: unknown flag or subcommand, missing argument; one line on stderr
//   130 `loralab train` stopped by Ctrl-C (SIGINT) or SIGTERM after saving its checkpoint
// Each subcommand lives in its own file (inspect.cpp, devices.cpp, eval.cpp, generate.cpp); this file only wires them up.
#include "tools/loralab/devices.h"
#include "tools/loralab/eval.h"
#include "tools/loralab/generate.h"
#include "tools/loralab/inspect.h"
#include "tools/loralab/merge.h"
#include "tools/loralab/quantize.h"
#include "tools/loralab/train.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

// Messages go out as exactly one line, whatever they hold.
static std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

int main(int argc, char** argv) {
  CLI::App app{"loralab: train (fully, LoRA, QLoRA), evaluate, sample from, quantize, merge and inspect GPT-2 and LLaMA checkpoints (Hugging Face folders, safetensors files)", "loralab"};
  app.require_subcommand(1);
  app.footer("Exit status: 0 done, 1 the command failed (e.g. a bad or missing file), 2 a bad command line, 130 training interrupted (checkpoint saved).");
  lab::tools::InspectOptions inspect;
  CLI::App* inspect_cmd = lab::tools::add_inspect_command(app, inspect);
  CLI::App* devices_cmd = lab::tools::add_devices_command(app);
  lab::tools::EvalOptions eval;
  CLI::App* eval_cmd = lab::tools::add_eval_command(app, eval);
  lab::tools::GenerateOptions generate;
  CLI::App* generate_cmd = lab::tools::add_generate_command(app, generate);
  lab::tools::TrainCommandOptions train;
  CLI::App* train_cmd = lab::tools::add_train_command(app, train);
  lab::tools::QuantizeOptions quantize;
  CLI::App* quantize_cmd = lab::tools::add_quantize_command(app, quantize);
  lab::tools::MergeOptions merge;
  CLI::App* merge_cmd = lab::tools::add_merge_command(app, merge);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help: print the help of the (sub)command, exit 0
    std::string what = one_line(e.what());
    if (!what.empty() && what.back() == '.') what.pop_back();
    fmt::print(stderr, "loralab: error: {}. Run 'loralab --help' for usage.\n", what);
    return 2;
  }

  try {
    if (inspect_cmd->parsed()) lab::tools::run_inspect(inspect);
    if (devices_cmd->parsed()) lab::tools::run_devices();
    if (eval_cmd->parsed()) lab::tools::run_eval(eval);
    if (generate_cmd->parsed()) lab::tools::run_generate(generate);
    if (quantize_cmd->parsed()) lab::tools::run_quantize(quantize);
    if (merge_cmd->parsed()) lab::tools::run_merge(merge);
    if (train_cmd->parsed()) return lab::tools::run_train(train);  // 130 after Ctrl-C, the checkpoint saved
    return 0;
  } catch (const std::exception& e) {  // lab::Error and anything else: never a stack trace or abort
    std::fflush(stdout);
    fmt::print(stderr, "loralab: error: {}\n", one_line(e.what()));
  } catch (...) {
    std::fflush(stdout);
    fmt::print(stderr, "loralab: error: unknown exception (a loralab bug: please report the command)\n");
  }
  return 1;
}
