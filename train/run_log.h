// The record of a training run: one row per optimizer step, written as OUT/loss.csv and drawn as
// OUT/loss.svg (train and validation loss against the step).
//
//   loss.csv   step,train_loss,val_loss,lr,tokens_per_s,elapsed_s   (val_loss nan where not measured)
//
// On resume the rows up to the checkpoint's step are read back from loss.csv, so the curves of an
// interrupted run continue where the checkpoint left them. Both files are written atomically
// (write_csv, write_svg_plot). Not here: when to write (the loop in trainer.cpp decides).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lab::train {

struct LogRow {
  int64_t step = 0;  // optimizer steps done, 1 for the first
  double train_loss = 0, val_loss = 0, lr = 0, tokens_per_s = 0, elapsed_s = 0;
};

class RunLog {
public:
  explicit RunLog(std::string out_dir);
  // The rows of an earlier OUT/loss.csv with step <= up_to_step; none when the file is absent.
  // A malformed file is a lab::Error naming it and the line.
  void load(int64_t up_to_step);
  void add(const LogRow& row) { rows_.push_back(row); }
  void write() const;  // loss.csv and loss.svg
  const std::vector<LogRow>& rows() const { return rows_; }
  std::string csv_path() const { return out_dir_ + "/loss.csv"; }
  std::string svg_path() const { return out_dir_ + "/loss.svg"; }

private:
  std::string out_dir_;
  std::vector<LogRow> rows_;
};

}  // namespace lab::train
