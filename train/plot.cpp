// CSV and SVG writers of plot.h.
#include "train/plot.h"

#include "tensor/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace lab::train {

namespace {

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LAB_CHECK(out.good(), "cannot write '{}' (does its folder exist and is it writable?)", tmp);
    out << text;
    out.flush();
    LAB_CHECK(out.good(), "writing '{}' failed (disk full?)", tmp);
  }
  LAB_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename '{}' to '{}'", tmp, path);
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

void write_csv(const std::string& path, const std::vector<std::string>& header, const std::vector<std::vector<double>>& rows) {
  std::ostringstream out;
  out << fmt::format("{}\n", fmt::join(header, ","));
  for (const auto& row : rows) {
    LAB_CHECK(row.size() == header.size(), "write_csv {}: a row of {} values for {} columns", path, row.size(), header.size());
    out << fmt::format("{}\n", fmt::join(row, ","));
  }
  write_atomically(path, out.str());
}

void write_svg_plot(const std::string& path, const std::vector<Series>& series, const PlotOptions& o) {
  const double W = 640, H = 400, left = 70, right = 20, top = 40, bottom = 50;
  auto ty = [&](double v) { return o.log_y ? std::log10(std::max(v, 1e-300)) : v; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series) {
    LAB_CHECK(s.x.size() == s.y.size(), "plot {}: series '{}' has {} x and {} y values", path, s.name, s.x.size(), s.y.size());
    for (size_t i = 0; i < s.x.size(); i++) {
      if (!std::isfinite(s.y[i]) || (o.log_y && s.y[i] <= 0)) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  }
  if (!(x1 > x0)) x0 = std::isfinite(x0) ? x0 - 1 : 0, x1 = x0 + 2;
  if (!(y1 > y0)) y0 = std::isfinite(y0) ? y0 - 1 : 0, y1 = y0 + 2;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double y) { return H - bottom - (ty(y) - y0) / (y1 - y0) * (H - top - bottom); };

  std::ostringstream svg;
  svg << fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  svg << fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"white\"/>\n", W, H);
  svg << fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", W / 2, escape(o.title));
  svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, H - bottom, W - right);
  svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top, H - bottom);
  for (int i = 0; i <= 4; i++) {
    double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    double ylabel = o.log_y ? std::pow(10.0, yv) : yv;
    double yp = H - bottom - (H - top - bottom) * i / 4;
    svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.4g}</text>\n", px(xv), H - bottom + 16, xv);
    svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.3g}</text>\n", left - 6, yp + 4, ylabel);
    svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#ddd\"/>\n", left, yp, W - right);
  }
  svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (left + W - right) / 2, H - 12, escape(o.x_label));
  svg << fmt::format("<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}{2}</text>\n", (top + H - bottom) / 2,
                     escape(o.y_label), o.log_y ? " (log scale)" : "");
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  for (size_t k = 0; k < series.size(); k++) {
    const Series& s = series[k];
    const char* color = colors[k % 6];
    svg << fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"", color);
    for (size_t i = 0; i < s.x.size(); i++)
      if (std::isfinite(s.y[i]) && (!o.log_y || s.y[i] > 0)) svg << fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
    svg << "\"/>\n";
    svg << fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\" text-anchor=\"end\">{}</text>\n", W - right - 4, top + 16 + 16 * double(k), color,
                       escape(s.name));
  }
  svg << "</svg>\n";
  write_atomically(path, svg.str());
}

void write_svg_histogram(const std::string& path, const std::vector<double>& values, int bins, double lo, double hi,
                         const std::vector<double>& marks, const PlotOptions& o) {
  LAB_CHECK(bins > 0 && hi > lo, "histogram {}: need bins > 0 and hi > lo, got {} bins over [{}, {}]", path, bins, lo, hi);
  std::vector<double> count(size_t(bins), 0.0);
  for (double v : values)
    if (v >= lo && v <= hi) count[std::min(size_t(bins) - 1, size_t((v - lo) / (hi - lo) * bins))] += 1;
  const double top = std::max(1.0, *std::max_element(count.begin(), count.end()));
  const double W = 640, H = 400, left = 70, right = 20, tp = 40, bottom = 50;
  auto px = [&](double x) { return left + (x - lo) / (hi - lo) * (W - left - right); };
  auto py = [&](double c) { return H - bottom - c / top * (H - tp - bottom); };
  std::ostringstream svg;
  svg << fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  svg << fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"white\"/>\n", W, H);
  svg << fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", W / 2, escape(o.title));
  for (int b = 0; b < bins; b++) {
    const double x0 = px(lo + (hi - lo) * b / bins), x1 = px(lo + (hi - lo) * (b + 1) / bins);
    svg << fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.1f}\" fill=\"#9ecae1\"/>\n", x0, py(count[size_t(b)]),
                       x1 - x0, H - bottom - py(count[size_t(b)]));
  }
  for (double m : marks)
    svg << fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#d62728\" stroke-width=\"1.2\"/>\n", px(m), tp, H - bottom);
  svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, H - bottom, W - right);
  svg << fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, tp, H - bottom);
  for (int i = 0; i <= 4; i++) {
    const double xv = lo + (hi - lo) * i / 4, cv = top * i / 4;
    svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.3g}</text>\n", px(xv), H - bottom + 16, xv);
    svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0f}</text>\n", left - 6, py(cv) + 4, cv);
  }
  svg << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (left + W - right) / 2, H - 12, escape(o.x_label));
  svg << fmt::format("<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>\n", (tp + H - bottom) / 2,
                     escape(o.y_label));
  svg << "</svg>\n";
  write_atomically(path, svg.str());
}

}  // namespace lab::train
