// The loss log of run_log.h.
#include "train/run_log.h"

#include "tensor/error.h"
#include "train/plot.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lab::train {

RunLog::RunLog(std::string out_dir) : out_dir_(std::move(out_dir)) {}

void RunLog::load(int64_t up_to_step) {
  rows_.clear();
  std::ifstream in(csv_path());
  if (!in.good()) return;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    if (++line_no == 1 || line.empty()) continue;  // the header
    std::vector<double> v;
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      char* end = nullptr;
      v.push_back(std::strtod(field.c_str(), &end));
      LAB_CHECK(end != field.c_str() && *end == '\0', "{} line {}: '{}' is not a number (HINT: delete the file to start its log over)", csv_path(),
                line_no, field);
    }
    LAB_CHECK(v.size() == 6, "{} line {}: expected 6 values (step,train_loss,val_loss,lr,tokens_per_s,elapsed_s), found {}", csv_path(), line_no,
              v.size());
    if (int64_t(v[0]) > up_to_step) break;
    rows_.push_back({int64_t(v[0]), v[1], v[2], v[3], v[4], v[5]});
  }
}

void RunLog::write() const {
  std::vector<std::vector<double>> table;
  Series train{"train loss", {}, {}}, val{"val loss", {}, {}};
  for (const LogRow& r : rows_) {
    table.push_back({double(r.step), r.train_loss, r.val_loss, r.lr, r.tokens_per_s, r.elapsed_s});
    train.x.push_back(double(r.step));
    train.y.push_back(r.train_loss);
    if (std::isfinite(r.val_loss)) val.x.push_back(double(r.step)), val.y.push_back(r.val_loss);
  }
  write_csv(csv_path(), {"step", "train_loss", "val_loss", "lr", "tokens_per_s", "elapsed_s"}, table);
  write_svg_plot(svg_path(), {train, val}, {"GPT training: cross-entropy (nats per token)", "optimizer step", "loss", false});
}

}  // namespace lab::train
