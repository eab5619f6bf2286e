// Figures a lesson writes: CSV tables and SVG line plots, with no plotting library.
//
// An SVG is plain text: axes, a few ticks, one polyline per series and a legend. Open it in any
// browser. Log-scale y is there for loss curves, which fall over orders of magnitude.
#pragma once

#include <string>
#include <vector>

namespace lab::train {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
};

// Written to a temporary file and renamed, so an interrupted lesson never leaves half a figure.
void write_svg_plot(const std::string& path, const std::vector<Series>& series, const PlotOptions& options);
void write_csv(const std::string& path, const std::vector<std::string>& header, const std::vector<std::vector<double>>& rows);

// A histogram: `values` counted into `bins` equal bins over [lo, hi] (values outside are left out),
// drawn as bars, with a vertical line at each of `marks` (lesson 03: the 16 NF4 levels on the weights).
void write_svg_histogram(const std::string& path, const std::vector<double>& values, int bins, double lo, double hi,
                         const std::vector<double>& marks, const PlotOptions& options);

}  // namespace lab::train
