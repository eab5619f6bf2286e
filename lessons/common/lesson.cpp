// The shared lesson harness of lesson.h.
#include "lessons/common/lesson.h"

#include "tensor/atomic_file.h"
#include "tensor/error.h"
#include "tensor/json_io.h"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>

namespace lab::lesson {

void add_standard_flags(CLI::App& app, Options& o, const std::string& lesson_name) {
  o.out_dir = fmt::format("runs/{}", lesson_name);
  app.add_flag("--quick", o.quick, "run in seconds with smaller sizes (what the tests use)");
  app.add_option("--device", o.device_name, "where tensors live: cpu or cuda")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of every random number in the lesson")->capture_default_str();
  app.add_option("--out", o.out_dir, "folder for the figures (CSV, SVG)")->capture_default_str();
}

int run(CLI::App& app, int argc, char** argv, Options& o, const std::function<void()>& story) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints the help, exit 0
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "error: {}\nRun with --help for the flags.\n", e.what());
    return 2;
  }
  try {
    o.device = parse_device(o.device_name);
    require_device(o.device);
  } catch (const Error& e) {
    fmt::print(stderr, "error: --device {}: {}\n", o.device_name, e.what());
    return 2;
  }
  try {
    std::error_code ec;
    std::filesystem::create_directories(o.out_dir, ec);
    LAB_CHECK(!ec, "cannot create the output folder '{}': {}", o.out_dir, ec.message());
    story();
  } catch (const Interrupted&) {
    return 130;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}

void write_summary(const Options& options, const nlohmann::json& summary) {
  write_file_atomically(options.out_dir + "/summary.json", json_io::dump(summary, 2, /*replace_invalid_utf8=*/true) + "\n");
}

void section(const std::string& title) { fmt::print("\n== {} ==\n\n", title); }

double compare(const std::string& name, const Tensor& ours, const Tensor& reference) {
  LAB_CHECK(ours.shape() == reference.shape(), "compare {}: shapes {} and {} differ", name, shape_str(ours.shape()),
            shape_str(reference.shape()));
  std::vector<double> a = ours.to_vector<double>(), b = reference.to_vector<double>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); i++) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  bool exact = diff == 0, approx = diff <= 1e-6 * (1 + scale);
  fmt::print("  {:<12} exact: {:<3}  approx: {:<3}  maxdiff: {:.2e}\n", name, exact ? "yes" : "no", approx ? "yes" : "no", diff);
  return diff;
}

}  // namespace lab::lesson
