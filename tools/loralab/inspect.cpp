// `loralab inspect`: see inspect.h. A file prints its size, header and metadata, then one row per
// tensor; a folder prints config.json and the shard index when they are there, then every
// *.safetensors file in it. Statistics are computed in double on the CPU from a loaded copy.
// Not here: any check of the bytes (SafetensorsFile does them all, before anything is printed).
#include "tools/loralab/inspect.h"

#include "tensor/allocator.h"
#include "tensor/json_io.h"
#include "tensor/safetensors.h"
#include "tools/loralab/cli_checks.h"
#include "train/model_files.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <type_traits>

namespace lab::tools {

namespace fs = std::filesystem;

namespace {

struct Totals {
  int64_t tensors = 0;
  int64_t parameters = 0;
  uint64_t bytes = 0;
};

// Names and metadata come from the file: control bytes would break the table (or the terminal).
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (uint8_t(c) < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", uint8_t(c)) : std::string(1, c);
  return out;
}

// min/max (every dtype), mean/std (floating dtypes; std with n-1, as torch.std). NaN anywhere
// makes every figure nan, so that it cannot go unnoticed.
std::array<std::string, 4> stats(const Tensor& t) {
  int64_t n = t.numel();
  if (n == 0) return {"-", "-", "-", "-"};
  std::array<std::string, 4> out = {"", "", "-", "-"};
  LAB_DISPATCH_DTYPE(t.dtype(), T, {
    const T* p = t.data<T>();
    if constexpr (std::is_integral_v<T>) {
      int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
      for (int64_t i = 0; i < n; i++) lo = std::min<int64_t>(lo, p[i]), hi = std::max<int64_t>(hi, p[i]);
      out[0] = fmt::format("{}", lo);
      out[1] = fmt::format("{}", hi);
    } else {
      // Welford: mean and the sum of squared deviations in one pass, without cancellation.
      double lo = INFINITY, hi = -INFINITY, mean = 0, m2 = 0;
      bool nan = false;
      for (int64_t i = 0; i < n; i++) {
        double v = double(load_as_compute(p[i]));
        nan = nan || std::isnan(v);
        lo = std::min(lo, v), hi = std::max(hi, v);
        double delta = v - mean;
        mean += delta / double(i + 1);
        m2 += delta * (v - mean);
      }
      if (nan) {
        out = {"nan", "nan", "nan", "nan"};
      } else {
        out = {fmt::format("{:.4g}", lo), fmt::format("{:.4g}", hi), fmt::format("{:.4g}", mean),
               n > 1 ? fmt::format("{:.4g}", std::sqrt(m2 / double(n - 1))) : "-"};
      }
    }
  });
  return out;
}

std::string plural(int64_t n, const char* noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); c++) {
      width.resize(std::max(width.size(), row.size()));
      width[c] = std::max(width[c], row[c].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); c++)  // name, dtype and shape to the left; numbers to the right
      line += c < 3 ? fmt::format("  {:<{}}", row[c], width[c]) : fmt::format("  {:>{}}", row[c], width[c]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

void inspect_file(const std::string& path, const InspectOptions& o, Totals& totals) {
  SafetensorsFile f = SafetensorsFile::open(path);
  fmt::print("file      {}\n", path);
  fmt::print("size      {} ({} bytes)\n", format_bytes(f.file_size()), f.file_size());
  fmt::print("header    {} bytes\n", f.header_size());
  if (f.metadata().empty()) fmt::print("metadata  (none)\n");
  bool first = true;
  for (const auto& [k, v] : f.metadata()) {
    fmt::print("{}{} = {}\n", first ? "metadata  " : "          ", printable(k), printable(v));
    first = false;
  }
  fmt::print("tensors   {}\n\n", f.entries().size());

  std::vector<std::vector<std::string>> rows = {{"name", "dtype", "shape", "bytes"}};
  if (o.stats) rows[0].insert(rows[0].end(), {"min", "max", "mean", "std"});
  Totals file;
  for (const SafetensorsEntry& e : f.entries()) {
    file.tensors += 1;
    file.parameters += numel(e.shape);
    file.bytes += e.nbytes();
    if (o.limit > 0 && file.tensors > o.limit) continue;
    std::vector<std::string> row = {printable(e.name), dtype_safetensors_name(e.dtype), shape_str(e.shape), fmt::format("{}", e.nbytes())};
    if (o.stats) {
      auto s = stats(f.load(e.name));
      row.insert(row.end(), s.begin(), s.end());
    }
    rows.push_back(std::move(row));
  }
  print_table(rows);
  if (o.limit > 0 && file.tensors > o.limit)
    fmt::print("  ... {} not shown (--limit 0 shows them all)\n", plural(file.tensors - o.limit, "tensor"));
  fmt::print("\ntotal     {}, {} ({} bytes) in {}\n\n", plural(file.parameters, "parameter"), format_bytes(file.bytes), file.bytes,
             plural(file.tensors, "tensor"));
  totals.tensors += file.tensors;
  totals.parameters += file.parameters;
  totals.bytes += file.bytes;
}

// model.safetensors.index.json: {"metadata": {"total_size": N}, "weight_map": {"tensor": "shard file", ...}}
void print_index(const fs::path& path) {
  nlohmann::json index = json_io::read_file(path);
  LAB_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
            "{}: expected an object with a \"weight_map\" object (tensor name -> shard file)", path.string());
  std::map<std::string, int64_t> shards;
  for (const auto& item : index["weight_map"].items()) {
    LAB_CHECK(item.value().is_string(), "{}: weight_map[\"{}\"] must be a shard file name, found {}", path.string(), printable(item.key()),
              json_io::dump(item.value()));
    shards[item.value().get<std::string>()] += 1;
  }
  std::string total_size = "not given";
  if (index.contains("metadata") && index["metadata"].is_object() && index["metadata"].contains("total_size"))
    total_size = json_io::dump(index["metadata"]["total_size"]);
  fmt::print("index     {}: {}, {}, total_size {}\n", path.filename().string(), plural(int64_t(shards.size()), "shard"),
             plural(int64_t(index["weight_map"].size()), "tensor"), total_size);
  for (const auto& [shard, tensors] : shards) {
    LAB_CHECK(fs::is_regular_file(path.parent_path() / shard), "{}: shard {} is listed in weight_map but is not in the folder",
              path.string(), printable(shard));
    fmt::print("          {}  {}\n", printable(shard), plural(tensors, "tensor"));
  }
  fmt::print("\n");
}

void inspect_folder(const fs::path& dir, const InspectOptions& o) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  LAB_CHECK(!files.empty(), "{}: no .safetensors files in this folder (expected a .safetensors file, or a checkpoint folder that holds some)",
            dir.string());

  fmt::print("folder    {}\n", dir.string());
  if (fs::exists(dir / "config.json")) fmt::print("config.json\n{}\n\n", json_io::dump(json_io::read_file(dir / "config.json"), 2));
  if (fs::exists(dir / "model.safetensors.index.json")) print_index(dir / "model.safetensors.index.json");
  Totals totals;
  for (const std::string& file : files) inspect_file(file, o, totals);
  if (files.size() > 1)
    fmt::print("all files {}, {} ({} bytes) in {}, {} files\n", plural(totals.parameters, "parameter"), format_bytes(totals.bytes),
               totals.bytes, plural(totals.tensors, "tensor"), files.size());
}

// --model DIR: what the model is, from config.json and the safetensors headers alone.
void inspect_model(const std::string& dir) {
  const train::ModelInfo m = train::read_model_info(dir);
  fmt::print("model       {}\n", dir);
  fmt::print("family      {}{}\n", m.family, m.nf4 ? " (NF4-quantized linear layers, as `loralab quantize` writes them)" : "");
  fmt::print("config      {}\n", m.summary);
  fmt::print("parameters  {} ({:.4g} M; from the headers, a tied head counted once)\n", m.parameters, double(m.parameters) / 1e6);
  std::string dtypes;
  for (const auto& [dtype, n] : m.dtypes) dtypes += fmt::format("{}{} ({})", dtypes.empty() ? "" : ", ", dtype, plural(n, "tensor"));
  fmt::print("dtype       {}{}\n", dtypes, m.dtypes.size() == 1 && !m.dtypes.count("F32") ? " (converted to F32 on load)" : "");
  fmt::print("weights     {} ({} bytes) in {}{}\n", format_bytes(m.tensor_bytes), m.tensor_bytes, plural(int64_t(m.files.size()), "file"),
             m.index.empty() ? "" : fmt::format(", sharded by {}", fs::path(m.index).filename().string()));
  for (const std::string& f : m.files) fmt::print("            {}  {}\n", fs::path(f).filename().string(), format_bytes(fs::file_size(f)));
  fmt::print("tokenizer   {}\n", train::has_tokenizer_files(dir) ? fs::exists(fs::path(dir) / "tokenizer.json") ? "tokenizer.json" : "vocab.json + merges.txt"
                                                              : m.vocab_size == 256 ? "none: bytes (vocab_size 256)" : "none (eval --tokens only)");
  std::string targets;
  for (const std::string& t : m.lora_targets) targets += (targets.empty() ? "" : ", ") + t;
  fmt::print("lora        PEFT's default target_modules for {}: {}\n", m.family, targets);
}

}  // namespace

CLI::App* add_inspect_command(CLI::App& app, InspectOptions& o) {
  CLI::App* cmd = app.add_subcommand("inspect", "Show the tensors, metadata and value statistics of a safetensors file or checkpoint folder");
  CLI::Option* path = cmd->add_option("path", o.path, "A .safetensors file, or a folder of them (with config.json and model.safetensors.index.json if present)");
  CLI::Option* model = cmd->add_option("--model", o.model, "A checkpoint folder (GPT-2 or LLaMA): its family, config, parameters, dtypes and shards")
                           ->check(existing_folder("a checkpoint folder with config.json and model.safetensors"));
  path->excludes(model);
  cmd->callback([&o] {
    if (o.path.empty() && o.model.empty()) throw CLI::RequiredError("path");
  });
  cmd->add_flag("--stats,!--no-stats", o.stats, "Load every shown tensor and print min/max/mean/std (default: on)");
  cmd->add_option("--limit", o.limit, "Show at most N tensors per file (0: all)")->check(CLI::NonNegativeNumber);
  return cmd;
}

void run_inspect(const InspectOptions& o) {
  if (!o.model.empty()) return inspect_model(o.model);
  std::error_code ec;
  fs::file_status status = fs::status(o.path, ec);
  LAB_CHECK(fs::exists(status), "{}: no such file or folder (expected a .safetensors file or a checkpoint folder)", o.path);
  if (fs::is_directory(status)) return inspect_folder(o.path, o);
  Totals totals;
  inspect_file(o.path, o, totals);
}

}  // namespace lab::tools
