// The CPU kernels under the neural-network ops (softmax, causal softmax, cross-entropy, layer norm,
// row gather and scatter, masked_fill, cat) against references written out here in double, straight from the
// formulas; the backward kernels against central finite differences of the forward ones in f64.
// The GPU kernels are compared with these CPU ones in tests/cuda/test_cuda_nn_kernels.cpp.
#include <catch2/catch.hpp>

#include "tensor/all.h"

#include <cmath>
#include <limits>
#include <vector>

using namespace lab;

namespace {

const double nan_value = std::numeric_limits<double>::quiet_NaN();

// |got[i] - want[i]| <= atol + rtol * |want[i]| for every i, naming the first element that is not.
void require_close(const std::vector<double>& got, const std::vector<double>& want, double rtol, double atol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++)
    if (!(std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i])))
      FAIL("element " << i << " of " << want.size() << ": got " << got[i] << ", want " << want[i]);
}
void require_close(const Tensor& got, const std::vector<double>& want, double rtol, double atol) {
  require_close(got.to_vector<double>(), want, rtol, atol);
}

// Tolerances for results computed in double and stored in dtype d.
double rtol_for(DType d) { return d == DType::f32 ? 1e-6 : 1e-12; }

// The straightforward softmax over `dim` of a tensor of `shape`: exp(x_i) / sum_j exp(x_j), no max
// subtracted (the inputs here are small), every element found by its multi-index.
std::vector<double> reference_softmax(const Tensor& x, int64_t dim) {
  const std::vector<double> v = x.to_vector<double>();
  const Shape shape = x.shape();
  const Strides strides = contiguous_strides(shape);
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); i++) {
    const int64_t k = (int64_t(i) / strides[dim]) % shape[dim];
    const int64_t first = int64_t(i) - k * strides[dim];  // the same element with index 0 along dim
    double s = 0;
    for (int64_t j = 0; j < shape[dim]; j++) s += std::exp(v[first + j * strides[dim]]);
    out[i] = std::exp(v[i]) / s;
  }
  return out;
}

// mean over rows r with t_r != ignore of log(sum_v exp z_rv) - z_r,t_r
double reference_cross_entropy(const Tensor& logits, const std::vector<int64_t>& t, int64_t ignore) {
  const std::vector<double> z = logits.to_vector<double>();
  const int64_t V = logits.size(1);
  double total = 0;
  int64_t count = 0;
  for (size_t r = 0; r < t.size(); r++) {
    if (t[r] == ignore) continue;
    double s = 0;
    for (int64_t v = 0; v < V; v++) s += std::exp(z[r * V + v]);
    total += std::log(s) - z[r * V + t[r]];
    count++;
  }
  return total / double(count);
}

// y = (x - mean) / sqrt(var + eps) * w + b over the last dim, biased variance, w = 1 and b = 0 when undefined.
std::vector<double> reference_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  const std::vector<double> v = x.to_vector<double>();
  const int64_t C = x.size(-1), rows = x.numel() / C;
  const std::vector<double> wv = w.defined() ? w.to_vector<double>() : std::vector<double>(C, 1.0);
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(C, 0.0);
  std::vector<double> y(v.size());
  for (int64_t r = 0; r < rows; r++) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < C; c++) mean += v[r * C + c] / double(C);
    for (int64_t c = 0; c < C; c++) var += (v[r * C + c] - mean) * (v[r * C + c] - mean) / double(C);
    for (int64_t c = 0; c < C; c++) y[r * C + c] = (v[r * C + c] - mean) / std::sqrt(var + eps) * wv[c] + bv[c];
  }
  return y;
}

// d f / d t[i] for every element i of an f64 tensor t, by (f(t + h e_i) - f(t - h e_i)) / 2h.
template <typename F> std::vector<double> finite_differences(const Tensor& t, F f, double h = 1e-6) {
  std::vector<double> grad(size_t(t.numel()));
  double* p = t.data<double>();
  REQUIRE(t.is_contiguous());
  for (int64_t i = 0; i < t.numel(); i++) {
    const double saved = p[i];
    p[i] = saved + h;
    const double plus = f();
    p[i] = saved - h;
    const double minus = f();
    p[i] = saved;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

// sum_i a[i] * b[i], in double
double dot(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < x.size(); i++) s += x[i] * y[i];
  return s;
}

}  // namespace

TEST_CASE("softmax and log_softmax match the formula over every dim") {
  Generator gen(11);
  for (DType d : {DType::f32, DType::f64}) {
    const Tensor x = randn({3, 4, 5}, gen, d);
    for (int64_t dim = 0; dim < 3; dim++) {
      INFO(dtype_name(d) << " dim " << dim);
      const std::vector<double> want = reference_softmax(x, dim);
      const Tensor p = softmax(x, dim);
      CHECK(p.shape() == x.shape());
      CHECK(p.dtype() == d);
      require_close(p, want, rtol_for(d), 0);
      require_close(softmax(x, dim - 3), want, rtol_for(d), 0);  // the same dim, counted from the end
      // Each softmax sums to 1, and log_softmax = log(softmax).
      require_close(sum(p, {dim}), std::vector<double>(size_t(x.numel() / x.size(dim)), 1.0), 0, 1e-6);
      std::vector<double> log_want = want;
      for (double& v : log_want) v = std::log(v);
      require_close(log_softmax(x, dim), log_want, rtol_for(d), rtol_for(d));
    }
    // A non-contiguous input: the softmax of a transposed view is the transpose of the softmax.
    const Tensor xt = x.transpose(0, 2);
    require_close(softmax(xt, 0), softmax(x, 2).transpose(0, 2).to_vector<double>(), 0, 0);
    require_close(log_softmax(xt, 1), log_softmax(x, 1).transpose(0, 2).to_vector<double>(), 0, 0);
  }
  CHECK(softmax(scalar(3.0), 0).item<double>() == 1.0);
  CHECK(log_softmax(scalar(3.0), -1).item<double>() == 0.0);
  CHECK(softmax(zeros({2, 0}), 1).shape() == Shape{2, 0});
}

TEST_CASE("softmax is stable with huge logits") {
  for (DType d : {DType::f32, DType::f64}) {
    INFO(dtype_name(d));
    // exp(1000) overflows even double: only the max subtracted first makes this finite.
    const Tensor x = from_vector<double>({1000, -1000, 999, 0, 1000, 1000, 1000, 1000}, {2, 4}).to(d);
    // Row 0: sum_j exp(x_j - 1000) = exp(0) + exp(-2000) + exp(-1) + exp(-1000) = 1 + e^-1 in double.
    const double e = std::exp(-1.0), s0 = 1 + e;
    require_close(softmax(x, 1), {1 / s0, 0, e / s0, 0, 0.25, 0.25, 0.25, 0.25}, rtol_for(d), 0);
    require_close(log_softmax(x, 1),
                  {-std::log(s0), -2000 - std::log(s0), -1 - std::log(s0), -1000 - std::log(s0), -std::log(4.0), -std::log(4.0),
                   -std::log(4.0), -std::log(4.0)},
                  rtol_for(d), 1e-6);
    // -inf (a masked position) gives probability 0, not NaN.
    const Tensor masked = from_vector<double>({0, -std::numeric_limits<double>::infinity(), 0}, {1, 3}).to(d);
    require_close(softmax(masked, 1), {0.5, 0, 0.5}, rtol_for(d), 0);
  }
}

TEST_CASE("softmax rejects other dtypes and bad dims with a clear message") {
  CHECK_THROWS_WITH(softmax(ones({2, 3}, DType::i32), 1), Catch::Contains("supports f32 and f64, got i32") && Catch::Contains("HINT"));
  CHECK_THROWS_WITH(log_softmax(ones({2, 3}, DType::bf16), 1), Catch::Contains("log_softmax") && Catch::Contains("bf16"));
  CHECK_THROWS_WITH(softmax(ones({2, 3}), 2), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(softmax(Tensor(), 0), Catch::Contains("undefined"));
}

// The u8 mask of the future for scores [..., tq, tk]: 1 where key j > query i + (tk - tq).
Tensor causal_mask(int64_t tq, int64_t tk) {
  std::vector<uint8_t> m(size_t(tq * tk));
  for (int64_t i = 0; i < tq; i++)
    for (int64_t j = 0; j < tk; j++) m[size_t(i * tk + j)] = j > i + (tk - tq) ? 1 : 0;
  return from_vector(m, {tq, tk});
}

TEST_CASE("causal_softmax equals masked_fill with -inf then softmax, with exact zeros in the future") {
  Generator gen(12);
  const double inf = std::numeric_limits<double>::infinity();
  for (DType d : {DType::f32, DType::f64}) {
    // Square (the lower triangle), a query block at the end of the keys (Tq < Tk), one query, batched dims.
    for (const Shape& shape : {Shape{5, 5}, Shape{2, 3, 4, 4}, Shape{3, 7}, Shape{2, 1, 6}, Shape{1, 1}}) {
      INFO(dtype_name(d) << " shape " << shape_str(shape));
      const int64_t tq = shape[shape.size() - 2], tk = shape.back();
      const Tensor x = mul(randn(shape, gen, d), 3.0);
      const Tensor mask = causal_mask(tq, tk);
      const Tensor y = causal_softmax(x);
      CHECK(y.shape() == shape);
      CHECK(y.dtype() == d);
      require_close(y, softmax(masked_fill(x, mask, -inf), -1).to_vector<double>(), rtol_for(d), 1e-7);
      // Masked entries are exactly 0 and each row sums to 1.
      const std::vector<double> yv = y.to_vector<double>();
      for (size_t e = 0; e < yv.size(); e++) {
        const int64_t j = int64_t(e) % tk, i = (int64_t(e) / tk) % tq;
        if (j > i + (tk - tq)) REQUIRE(yv[e] == 0.0);
      }
      require_close(sum(y, {-1}), std::vector<double>(size_t(x.numel() / tk), 1.0), 0, 1e-6);
    }
    // A non-contiguous input: a transposed view reads like its contiguous copy.
    const Tensor xt = randn({6, 6}, gen, d).t();
    require_close(causal_softmax(xt), causal_softmax(xt.contiguous()).to_vector<double>(), 0, 0);
    // Huge scores in the future do not move the visible ones (the max is over visible keys only).
    const Tensor big = from_vector<double>({0, 1e30, 1, 2}, {2, 2}).to(d);
    const double e1 = std::exp(-1.0);
    require_close(causal_softmax(big), {1, 0, e1 / (1 + e1), 1 / (1 + e1)}, rtol_for(d), 1e-12);
  }
  CHECK(causal_softmax(zeros({2, 0, 0})).shape() == Shape{2, 0, 0});
}

TEST_CASE("causal_softmax_backward is y * (g - sum(g * y)) and 0 in the future") {
  Generator gen(13);
  for (const Shape& shape : {Shape{2, 5, 5}, Shape{3, 6}}) {
    INFO("shape " << shape_str(shape));
    const Tensor y = causal_softmax(randn(shape, gen, DType::f64));
    const Tensor g = randn(shape, gen, DType::f64);
    // Masked y are 0, so the formula over the full row gives the masked dx as 0 too.
    const Tensor want = mul(y, sub(g, sum(mul(g, y), {-1}, true)));
    const Tensor dx = causal_softmax_backward(y, g);
    require_close(dx, want.to_vector<double>(), 1e-12, 1e-14);
    // A non-contiguous gradient reads like its contiguous copy.
    const Tensor gt = randn(shape, gen, DType::f64).transpose(-1, -2).contiguous().transpose(-1, -2);
    if (shape[shape.size() - 1] == shape[shape.size() - 2])
      require_close(causal_softmax_backward(y, gt), causal_softmax_backward(y, gt.contiguous()).to_vector<double>(), 0, 0);
  }
}

TEST_CASE("causal_softmax errors name the shape, the dtype and what to do") {
  CHECK_THROWS_WITH(causal_softmax(ones({4})), Catch::Contains("at least 2 dims") && Catch::Contains("[4]"));
  CHECK_THROWS_WITH(causal_softmax(ones({2, 5, 3})),
                    Catch::Contains("Tk = 3 keys for Tq = 5 queries") && Catch::Contains("[2, 5, 3]") && Catch::Contains("HINT"));
  CHECK_THROWS_WITH(causal_softmax(ones({3, 3}, DType::i32)), Catch::Contains("f32 or f64, got i32") && Catch::Contains("HINT"));
  CHECK_THROWS_WITH(causal_softmax(Tensor()), Catch::Contains("undefined"));
  CHECK_THROWS_WITH(causal_softmax_backward(ones({3, 3}), ones({3, 4})), Catch::Contains("gradient must match y") && Catch::Contains("[3, 4]"));
}

TEST_CASE("cross_entropy_forward matches the formula, with ignored rows") {
  Generator gen(12);
  for (DType d : {DType::f32, DType::f64}) {
    INFO(dtype_name(d));
    const Tensor logits = mul(randn({5, 7}, gen, d), 3.0);
    const std::vector<int64_t> t = {3, -100, 0, 6, 2};
    const CrossEntropyForward f = cross_entropy_forward(logits, from_vector(t));
    CHECK(f.count == 4);
    CHECK(f.loss.shape() == Shape{});
    CHECK(f.loss.dtype() == d);
    CHECK(f.loss.item<double>() == Approx(reference_cross_entropy(logits, t, -100)).epsilon(rtol_for(d)));
    // i32 targets, and another ignore index (row 3's target).
    std::vector<int32_t> t32(t.begin(), t.end());
    CHECK(cross_entropy_forward(logits, from_vector(t32)).loss.item<double>() == f.loss.item<double>());
  }
}

TEST_CASE("cross_entropy_forward: a custom ignore index, and NaN when every row is ignored") {
  Generator gen(13);
  const Tensor logits = randn({4, 3}, gen, DType::f64);
  const std::vector<int64_t> t = {2, 1, 1, 0};
  const CrossEntropyForward f = cross_entropy_forward(logits, from_vector(t), 1);
  CHECK(f.count == 2);
  CHECK(f.loss.item<double>() == Approx(reference_cross_entropy(logits, t, 1)).epsilon(1e-12));
  const CrossEntropyForward none = cross_entropy_forward(logits, from_vector<int64_t>({-100, -100, -100, -100}));
  CHECK(none.count == 0);
  CHECK(std::isnan(none.loss.item<double>()));
  CHECK(std::isnan(cross_entropy_forward(zeros({0, 3}), from_vector<int64_t>(std::vector<int64_t>{}, {0})).loss.item<float>()));
  // Huge logits stay finite: loss = logsumexp - z_t with the max subtracted first.
  const Tensor big = from_vector<double>({1000, 0, -1000, 1000}, {2, 2});
  CHECK(cross_entropy_forward(big, from_vector<int64_t>({1, 0})).loss.item<double>() == Approx((1000 + 2000) / 2.0).epsilon(1e-12));
}

TEST_CASE("cross_entropy_backward matches finite differences of the forward in f64") {
  Generator gen(14);
  const Tensor logits = randn({4, 6}, gen, DType::f64);
  const Tensor targets = from_vector<int64_t>({5, -100, 0, 3});
  const CrossEntropyForward f = cross_entropy_forward(logits, targets);
  for (double upstream : {1.0, -2.5}) {
    INFO("upstream gradient " << upstream);
    // d(upstream * loss)/dz, where loss is the mean over counted rows: scale = upstream / count.
    const Tensor dz = cross_entropy_backward(logits, targets, -100, upstream / double(f.count));
    CHECK(dz.shape() == logits.shape());
    const std::vector<double> numeric =
        finite_differences(logits, [&] { return upstream * cross_entropy_forward(logits, targets).loss.item<double>(); });
    require_close(dz, numeric, 0, 1e-8);
    for (int64_t v = 0; v < 6; v++) CHECK(dz.at<double>({1, v}) == 0.0);  // the ignored row
  }
  // f32 agrees with f64 to f32 precision.
  require_close(cross_entropy_backward(logits.to(DType::f32), targets.to(DType::i32), -100, 0.5),
                cross_entropy_backward(logits, targets, -100, 0.5).to_vector<double>(), 1e-6, 1e-7);
}

TEST_CASE("cross-entropy errors name what is wrong") {
  const Tensor logits = zeros({3, 7});
  CHECK_THROWS_WITH(cross_entropy_forward(logits, from_vector<int64_t>({1, 2, 7})),
                    Catch::Contains("target 7 at row 2") && Catch::Contains("[0, 7)"));
  CHECK_THROWS_WITH(cross_entropy_backward(logits, from_vector<int64_t>({-1, 2, 3}), -100, 1.0), Catch::Contains("target -1 at row 0"));
  CHECK_THROWS_WITH(cross_entropy_forward(zeros({21}), from_vector<int64_t>({1})), Catch::Contains("shape [N, V]"));
  CHECK_THROWS_WITH(cross_entropy_forward(logits, zeros({3})), Catch::Contains("i64 or i32, got f32"));
  CHECK_THROWS_WITH(cross_entropy_forward(logits, from_vector<int64_t>({1, 2})), Catch::Contains("expected targets of shape [3]"));
  CHECK_THROWS_WITH(cross_entropy_forward(ones({3, 7}, DType::i32), from_vector<int64_t>({1, 2, 3})),
                    Catch::Contains("f32 or f64, got i32"));
}

TEST_CASE("layer_norm_forward matches the formula, with and without weight and bias") {
  Generator gen(15);
  for (DType d : {DType::f32, DType::f64}) {
    const Tensor x = add(mul(randn({2, 3, 5}, gen, d), 2.0), 0.5);
    const Tensor w = randn({5}, gen, d), b = randn({5}, gen, d);
    const double atol = d == DType::f32 ? 1e-5 : 1e-12;
    for (int affine = 0; affine < 4; affine++) {
      const Tensor wi = affine & 1 ? w : Tensor(), bi = affine & 2 ? b : Tensor();
      INFO(dtype_name(d) << " weight " << wi.defined() << " bias " << bi.defined());
      const LayerNormForward f = layer_norm_forward(x, wi, bi, 1e-5);
      CHECK(f.y.shape() == x.shape());
      CHECK(f.mean.shape() == Shape{6});
      CHECK(f.rstd.shape() == Shape{6});
      require_close(f.y, reference_layer_norm(x, wi, bi, 1e-5), rtol_for(d), atol);
    }
    // mean and rstd of row 0, and a non-contiguous x.
    const LayerNormForward f = layer_norm_forward(x, w, b, 1e-5);
    const std::vector<double> row = x.select(0, 0).select(0, 0).to_vector<double>();
    double mean = 0, var = 0;
    for (double v : row) mean += v / 5;
    for (double v : row) var += (v - mean) * (v - mean) / 5;
    CHECK(f.mean.to_vector<double>()[0] == Approx(mean).epsilon(rtol_for(d)).margin(atol));
    CHECK(f.rstd.to_vector<double>()[0] == Approx(1 / std::sqrt(var + 1e-5)).epsilon(rtol_for(d)));
    const Tensor xt = randn({5, 3, 2}, gen, d).transpose(0, 2);
    REQUIRE_FALSE(xt.is_contiguous());
    require_close(layer_norm_forward(xt, w, b, 1e-5).y, reference_layer_norm(xt, w, b, 1e-5), rtol_for(d), atol);
  }
  // A constant row: variance 0, so xhat = 0 and y = bias (eps keeps rstd finite).
  const LayerNormForward c = layer_norm_forward(full({1, 4}, 3.0, DType::f64), Tensor(), full({4}, 0.25, DType::f64), 1e-5);
  require_close(c.y, {0.25, 0.25, 0.25, 0.25}, 0, 0);
  CHECK(c.rstd.item<double>() == Approx(1 / std::sqrt(1e-5)));
}

TEST_CASE("layer_norm_backward matches central finite differences in f64") {
  Generator gen(16);
  const Tensor x = randn({2, 3, 4}, gen, DType::f64);
  const Tensor w = add(randn({4}, gen, DType::f64), 1.0), b = randn({4}, gen, DType::f64);
  const Tensor dy = randn({2, 3, 4}, gen, DType::f64);
  for (bool affine : {true, false}) {
    INFO("affine " << affine);
    const Tensor wi = affine ? w : Tensor(), bi = affine ? b : Tensor();
    // L = sum(y * dy), so dL/dx = dx, dL/dweight = dweight, dL/dbias = dbias for this dy.
    auto loss = [&] { return dot(layer_norm_forward(x, wi, bi, 1e-5).y, dy); };
    const LayerNormForward f = layer_norm_forward(x, wi, bi, 1e-5);
    const LayerNormBackward g = layer_norm_backward(dy, x, f.mean, f.rstd, wi, affine);
    CHECK(g.dx.shape() == x.shape());
    require_close(g.dx, finite_differences(x, loss), 1e-6, 1e-7);
    CHECK(g.dweight.defined() == affine);
    CHECK(g.dbias.defined() == affine);
    if (affine) {
      CHECK(g.dweight.shape() == Shape{4});
      require_close(g.dweight, finite_differences(w, loss), 1e-6, 1e-7);
      require_close(g.dbias, finite_differences(b, loss), 1e-6, 1e-7);
    }
  }
  // A bias without a weight: dbias only.
  const LayerNormForward f = layer_norm_forward(x, Tensor(), b, 1e-5);
  const LayerNormBackward g = layer_norm_backward(dy, x, f.mean, f.rstd, Tensor(), true);
  CHECK_FALSE(g.dweight.defined());
  require_close(g.dbias, sum(dy, {0, 1}).to_vector<double>(), 1e-12, 1e-12);
}

TEST_CASE("layer norm errors name what is wrong") {
  const Tensor x = zeros({3, 5});
  CHECK_THROWS_WITH(layer_norm_forward(x, ones({4}), Tensor(), 1e-5), Catch::Contains("expected weight of shape [5]"));
  CHECK_THROWS_WITH(layer_norm_forward(x, Tensor(), ones({5, 1}), 1e-5), Catch::Contains("expected bias of shape [5]"));
  CHECK_THROWS_WITH(layer_norm_forward(x, ones({5}, DType::f64), Tensor(), 1e-5), Catch::Contains("weight is f64 but x is f32"));
  CHECK_THROWS_WITH(layer_norm_forward(ones({3, 5}, DType::i64), Tensor(), Tensor(), 1e-5), Catch::Contains("f32 or f64, got i64"));
  CHECK_THROWS_WITH(layer_norm_forward(zeros({3, 0}), Tensor(), Tensor(), 1e-5), Catch::Contains("at least 1"));
  const LayerNormForward f = layer_norm_forward(x, Tensor(), Tensor(), 1e-5);
  CHECK_THROWS_WITH(layer_norm_backward(zeros({3, 4}), x, f.mean, f.rstd, Tensor(), false), Catch::Contains("expected dy of shape [3, 5]"));
  CHECK_THROWS_WITH(layer_norm_backward(x, x, f.rstd.reshape({3, 1}), f.rstd, Tensor(), false),
                    Catch::Contains("expected mean of shape [3]"));
}

TEST_CASE("index_select_rows and index_add_rows on repeated ids") {
  Generator gen(17);
  for (DType d : {DType::f32, DType::f64}) {
    INFO(dtype_name(d));
    const Tensor table = randn({5, 3}, gen, d);
    const std::vector<int64_t> ids = {4, 0, 4, 1, 1, 2};
    const Tensor out = index_select_rows(table, from_vector(ids, {2, 3}));
    CHECK(out.shape() == Shape{2, 3, 3});
    std::vector<double> want;
    for (int64_t id : ids)
      for (int64_t c = 0; c < 3; c++) want.push_back(table.to_vector<double>()[id * 3 + c]);
    require_close(out, want, 0, 0);
    // i32 ids give the same rows.
    require_close(index_select_rows(table, from_vector(ids, {2, 3}).to(DType::i32)), want, 0, 0);

    // index_add: row v of the result is the sum of the grad rows whose id is v; row 3 is never named.
    const Tensor grad = randn({2, 3, 3}, gen, d);
    const std::vector<double> gv = grad.to_vector<double>();
    std::vector<double> sums(15, 0.0);
    for (size_t i = 0; i < ids.size(); i++)
      for (int64_t c = 0; c < 3; c++) sums[ids[i] * 3 + c] += gv[i * 3 + c];
    const Tensor added = index_add_rows(grad, from_vector(ids, {2, 3}), 5);
    CHECK(added.shape() == Shape{5, 3});
    require_close(added, sums, rtol_for(d), rtol_for(d));
    require_close(index_add_rows(grad.transpose(0, 1).contiguous().transpose(0, 1), from_vector(ids, {2, 3}).to(DType::i32), 5), sums,
                  rtol_for(d), rtol_for(d));
    // index_add is the adjoint of index_select: <select(T), G> = <T, add(G)>.
    CHECK(dot(index_select_rows(table, from_vector(ids, {2, 3})), grad) == Approx(dot(table, added)).epsilon(1e-6));
  }
  CHECK(index_add_rows(zeros({0, 4}), from_vector<int64_t>(std::vector<int64_t>{}, {0}), 3).to_vector<float>() ==
        std::vector<float>(12, 0.0f));
}

TEST_CASE("index errors name the position and the value") {
  const Tensor table = zeros({5, 3});
  CHECK_THROWS_WITH(index_select_rows(table, from_vector<int64_t>({0, 1, 2, 3, 4, 5}, {2, 3})),
                    Catch::Contains("id 5 at position [1, 2]") && Catch::Contains("[0, 5)"));
  CHECK_THROWS_WITH(index_select_rows(table, from_vector<int32_t>({0, -1})), Catch::Contains("id -1 at position [1]"));
  CHECK_THROWS_WITH(index_select_rows(table, zeros({2})), Catch::Contains("ids must be i64 or i32, got f32"));
  CHECK_THROWS_WITH(index_select_rows(zeros({5}), from_vector<int64_t>({0})), Catch::Contains("table of shape [V, C]"));
  CHECK_THROWS_WITH(index_add_rows(zeros({2, 3}), from_vector<int64_t>({0, 9}), 5), Catch::Contains("id 9 at position [1]"));
  CHECK_THROWS_WITH(index_add_rows(zeros({3, 3}), from_vector<int64_t>({0, 1}), 5), Catch::Contains("expected grad of shape [2, 3]"));
  CHECK_THROWS_WITH(index_add_rows(zeros({2, 3}, DType::i64), from_vector<int64_t>({0, 1}), 5), Catch::Contains("f32 or f64, got i64"));
}

TEST_CASE("masked_fill broadcasts the mask and reads strided inputs") {
  Generator gen(18);
  for (DType d : {DType::f32, DType::f64}) {
    INFO(dtype_name(d));
    const Tensor x = randn({2, 3, 4}, gen, d);
    const std::vector<double> xv = x.to_vector<double>();
    // A causal-style mask over the last two dims, broadcast over the first: [3, 4] -> [2, 3, 4].
    std::vector<uint8_t> m(12);
    for (int64_t i = 0; i < 3; i++)
      for (int64_t j = 0; j < 4; j++) m[i * 4 + j] = j > i ? 1 : 0;
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> want(24);
    for (int64_t i = 0; i < 24; i++) want[i] = m[i % 12] ? -inf : xv[i];
    CHECK(masked_fill(x, from_vector(m, {3, 4}), -inf).to_vector<double>() == want);
    // [3, 1]: whole rows; nonzero values other than 1 count as true.
    const Tensor rows = from_vector<uint8_t>({0, 7, 0}, {3, 1});
    for (int64_t i = 0; i < 24; i++) want[i] = (i / 4) % 3 == 1 ? 2.5 : xv[i];
    CHECK(masked_fill(x, rows, 2.5).to_vector<double>() == want);
    // A transposed x and a transposed mask.
    const Tensor xt = x.transpose(1, 2);                       // [2, 4, 3]
    const Tensor mt = from_vector(m, {3, 4}).transpose(0, 1);  // [4, 3], mt[j, i] = j > i
    const std::vector<double> got = masked_fill(xt, mt, 0.0).to_vector<double>();
    for (int64_t b = 0; b < 2; b++)
      for (int64_t j = 0; j < 4; j++)
        for (int64_t i = 0; i < 3; i++) CHECK(got[(b * 4 + j) * 3 + i] == (j > i ? 0.0 : xv[(b * 3 + i) * 4 + j]));
  }
  CHECK(masked_fill(scalar(1.0), scalar(1.0).to(DType::u8), nan_value).shape() == Shape{});
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(masked_fill(x, zeros({2, 3}), 1.0), Catch::Contains("mask must be u8") && Catch::Contains("got f32"));
  CHECK_THROWS_WITH(masked_fill(x, zeros({2, 2}, DType::u8), 1.0), Catch::Contains("mask of shape [2, 2] does not broadcast to x's shape [2, 3]"));
  CHECK_THROWS_WITH(masked_fill(x, zeros({1, 2, 3}, DType::u8), 1.0), Catch::Contains("does not broadcast"));
  CHECK_THROWS_WITH(masked_fill(zeros({2, 3}, DType::i32), zeros({2, 3}, DType::u8), 1.0), Catch::Contains("f32 or f64, got i32"));
}

TEST_CASE("cat along each dim of 3-D tensors, a non-contiguous input among them") {
  Generator gen(19);
  for (int64_t dim = 0; dim < 3; dim++) {
    INFO("dim " << dim);
    Shape sa = {2, 3, 4}, sb = {2, 3, 4}, sc = {2, 3, 4};
    sb[dim] = 1;
    sc[dim] = 3;
    const Tensor a = randn(sa, gen);
    const Tensor b = randn(sb, gen);
    // c: a permuted view of a contiguous tensor, so its strides are not row-major.
    const Tensor c = randn({sc[2], sc[0], sc[1]}, gen).permute({1, 2, 0});
    REQUIRE(c.shape() == sc);
    REQUIRE_FALSE(c.is_contiguous());
    const Tensor out = cat({a, b, c}, dim);
    Shape want_shape = sa;
    want_shape[dim] = sa[dim] + 1 + 3;
    CHECK(out.shape() == want_shape);
    // Every element of out comes from the input that covers its index along dim.
    const std::vector<float> got = out.to_vector<float>();
    const Strides st = contiguous_strides(out.shape());
    for (int64_t i = 0; i < out.numel(); i++) {
      std::vector<int64_t> idx = {i / st[0], (i / st[1]) % out.size(1), i % out.size(2)};
      const Tensor* src = &a;
      if (idx[dim] >= sa[dim] + 1) src = &c, idx[dim] -= sa[dim] + 1;
      else if (idx[dim] >= sa[dim]) src = &b, idx[dim] -= sa[dim];
      if (got[i] != src->at<float>(idx)) FAIL("element " << i << " of cat along dim " << dim << " is wrong");
    }
    CHECK(cat({a, b, c}, dim - 3).to_vector<float>() == got);
  }
  // One input, an empty input, and integers.
  const Tensor ids = from_vector<int64_t>({1, 2, 3});
  CHECK(cat({ids}, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
  CHECK(cat({ids, zeros({0}, DType::i64), ids}, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 1, 2, 3});
  CHECK_THROWS_WITH(cat({zeros({2, 3}), zeros({3, 3})}, 1),
                    Catch::Contains("tensor 1 has shape [3, 3] and tensor 0 has shape [2, 3]") && Catch::Contains("dim 1"));
  CHECK_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 3}, DType::f64)}, 0), Catch::Contains("tensor 1 is f64 but tensor 0 is f32"));
  CHECK_THROWS_WITH(cat({zeros({2, 3}), zeros({2})}, 0), Catch::Contains("tensor 1 has shape [2]"));
  CHECK_THROWS_WITH(cat({}, 0), Catch::Contains("at least one"));
  CHECK_THROWS_WITH(cat({scalar(1.0)}, 0), Catch::Contains("scalars"));
}
