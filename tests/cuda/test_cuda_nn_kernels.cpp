// The GPU kernels under the neural-network ops (cuda/softmax.cu with causal_softmax, cross_entropy.cu,
// layer_norm.cu, index.cu, masking.cu) against their CPU references in tensor/, on the same random inputs, in f32
// and f64, at odd sizes: rows 1, 7, 33 and widths 1, 5, 129, 1000 (a partial warp, several warps,
// more than one pass of a block). The CPU references are checked against formulas and finite
// differences in tests/tensor/test_nn_kernels.cpp. Run only where a GPU is present (cuda_test_main.cpp).
#include <catch2/catch.hpp>

#include "tensor/all.h"

#include <cmath>
#include <limits>
#include <vector>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);
const std::vector<int64_t> row_counts = {1, 7, 33};
const std::vector<int64_t> widths = {1, 5, 129, 1000};

// |got - want| <= bound[i] for every element; NaN only where want is NaN.
void require_within(const Tensor& got, const Tensor& want, const std::vector<double>& bound) {
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == want.dtype());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < w.size(); i++) {
    const bool ok = std::isnan(w[i]) ? std::isnan(g[i]) : std::abs(g[i] - w[i]) <= bound[i];
    if (!ok) FAIL("element " << i << " of " << w.size() << ": got " << g[i] << ", want " << w[i] << ", allowed error " << bound[i]);
  }
}

void require_close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  std::vector<double> bound = want.to_vector<double>();
  for (double& b : bound) b = atol + rtol * std::abs(b);
  require_within(got, want, bound);
}

void require_equal(const Tensor& got, const Tensor& want) { require_close(got, want, 0, 0); }

double rtol_for(DType d) { return d == DType::f32 ? 1e-5 : 1e-12; }

// Targets in [0, V), with every fifth row (rows 2, 7, ...) set to the ignore index -100.
Tensor random_targets(int64_t rows, int64_t V, Generator& gen) {
  std::vector<int64_t> t(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; r++) t[r] = r % 5 == 2 ? -100 : int64_t(gen.next_u32() % uint32_t(V));
  return from_vector(t);
}

}  // namespace

TEST_CASE("softmax and log_softmax on the GPU match the CPU", "[cuda][nn]") {
  Generator gen(21);
  for (DType d : {DType::f32, DType::f64})
    for (int64_t rows : row_counts)
      for (int64_t n : widths) {
        INFO(dtype_name(d) << " [" << rows << ", " << n << "]");
        const Tensor x = mul(randn({rows, n}, gen, d), 4.0), gx = x.to(gpu);
        require_close(softmax(gx, 1), softmax(x, 1), rtol_for(d), rtol_for(d) * 0.1);
        require_close(log_softmax(gx, 1), log_softmax(x, 1), rtol_for(d), rtol_for(d) * 0.1);
        // The column kernel: a softmax over dim 0 of [rows, n] and over the middle dim of [rows, n, 3].
        require_close(softmax(gx, 0), softmax(x, 0), rtol_for(d), rtol_for(d) * 0.1);
        const Tensor x3 = randn({rows, n, 3}, gen, d);
        require_close(log_softmax(x3.to(gpu), 1), log_softmax(x3, 1), rtol_for(d), rtol_for(d) * 0.1);
      }
  // Huge logits and -inf stay finite on the GPU too.
  const Tensor big = from_vector<float>({1000, -1000, 999, -std::numeric_limits<float>::infinity()}, {1, 4});
  require_close(softmax(big.to(gpu), 1), softmax(big, 1), 1e-5, 0);
  require_close(log_softmax(big.to(gpu), 1).slice(1, 0, 3), log_softmax(big, 1).slice(1, 0, 3), 1e-5, 0);
  CHECK(log_softmax(big.to(gpu), 1).to_vector<float>()[3] == -std::numeric_limits<float>::infinity());
}

TEST_CASE("causal_softmax forward and backward on the GPU match the CPU", "[cuda][nn]") {
  Generator gen(28);
  // [Tq, Tk]: the square lower triangle at 1, 7, 33, 129 (a partial warp, several passes of a warp),
  // and query blocks at the end of longer keys (Tq < Tk), as with a KV cache.
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{1, 1}, {7, 7}, {33, 33}, {129, 129}, {1, 40}, {5, 37}, {32, 200}};
  for (DType d : {DType::f32, DType::f64})
    for (const auto& [tq, tk] : sizes) {
      INFO(dtype_name(d) << " [2, 3, " << tq << ", " << tk << "]");
      const Tensor x = mul(randn({2, 3, tq, tk}, gen, d), 4.0), g = randn({2, 3, tq, tk}, gen, d);
      const Tensor y = causal_softmax(x), gy = causal_softmax(x.to(gpu));
      require_close(gy, y, rtol_for(d), rtol_for(d) * 0.1);
      // The masked entries are exactly 0 on the GPU too (require_close at 0 tolerance where y is 0).
      const std::vector<double> yv = y.to_vector<double>(), gyv = gy.to_vector<double>();
      for (size_t i = 0; i < yv.size(); i++)
        if (yv[i] == 0.0) REQUIRE(gyv[i] == 0.0);
      // Backward from the same y (the CPU's, copied) so only the backward kernel differs.
      require_close(causal_softmax_backward(y.to(gpu), g.to(gpu)), causal_softmax_backward(y, g), rtol_for(d), rtol_for(d) * 0.1);
      // A non-contiguous gradient (a transposed copy seen back through a transpose) reads the same.
      if (tq == tk) {
        const Tensor gt = g.to(gpu).transpose(2, 3).contiguous().transpose(2, 3);
        require_close(causal_softmax_backward(y.to(gpu), gt), causal_softmax_backward(y, g), rtol_for(d), rtol_for(d) * 0.1);
      }
    }
}

TEST_CASE("cross-entropy forward and backward on the GPU match the CPU", "[cuda][nn]") {
  Generator gen(22);
  for (DType d : {DType::f32, DType::f64})
    for (int64_t rows : row_counts)
      for (int64_t V : widths) {
        INFO(dtype_name(d) << " logits [" << rows << ", " << V << "]");
        const Tensor logits = mul(randn({rows, V}, gen, d), 3.0), targets = random_targets(rows, V, gen);
        const Tensor glogits = logits.to(gpu), gtargets = targets.to(gpu);
        const CrossEntropyForward want = cross_entropy_forward(logits, targets);
        const CrossEntropyForward got = cross_entropy_forward(glogits, gtargets);
        CHECK(got.count == want.count);
        CHECK(got.loss.device() == gpu);
        // A row's loss is (m - z_t) + log(s): when it is near 0, the rounding of s bounds its absolute error.
        require_close(got.loss, want.loss, rtol_for(d), rtol_for(d) * 0.1);
        // i32 targets on the GPU, and the same bits on a second run (no atomics in the sum).
        require_equal(cross_entropy_forward(glogits, gtargets.to(DType::i32)).loss, got.loss);
        const double scale = 1.0 / double(want.count);
        const Tensor dz = cross_entropy_backward(glogits, gtargets, -100, scale);
        require_close(dz, cross_entropy_backward(logits, targets, -100, scale), rtol_for(d), rtol_for(d) * scale);
      }
  // Every row ignored: NaN on both devices.
  const Tensor logits = zeros({3, 5}, DType::f32, gpu), ignored = full({3}, -100, DType::i64, gpu);
  CHECK(std::isnan(cross_entropy_forward(logits, ignored).loss.item<double>()));
  CHECK(cross_entropy_backward(logits, ignored, -100, 1.0).to_vector<float>() == std::vector<float>(15, 0.0f));
  // A bad target on the GPU is found before any kernel runs, with the same message as on the CPU.
  CHECK_THROWS_WITH(cross_entropy_forward(logits, from_vector<int64_t>({0, 5, 1}).to(gpu)), Catch::Contains("target 5 at row 1"));
  CHECK_THROWS_WITH(cross_entropy_forward(logits, from_vector<int64_t>({0, 1, 1})), Catch::Contains("targets on cpu"));
}

TEST_CASE("layer_norm forward and backward on the GPU match the CPU", "[cuda][nn]") {
  Generator gen(23);
  for (DType d : {DType::f32, DType::f64})
    for (int64_t rows : row_counts)
      for (int64_t C : widths)
        for (bool affine : {true, false}) {
          INFO(dtype_name(d) << " x [" << rows << ", " << C << "] affine " << affine);
          const Tensor x = add(mul(randn({rows, C}, gen, d), 2.0), 0.5), dy = randn({rows, C}, gen, d);
          const Tensor w = affine ? randn({C}, gen, d) : Tensor(), b = affine ? randn({C}, gen, d) : Tensor();
          const Tensor gw = affine ? w.to(gpu) : Tensor(), gb = affine ? b.to(gpu) : Tensor();
          const double tol = d == DType::f32 ? 1e-5 : 1e-11;
          const LayerNormForward want = layer_norm_forward(x, w, b, 1e-5);
          const LayerNormForward got = layer_norm_forward(x.to(gpu), gw, gb, 1e-5);
          require_close(got.y, want.y, tol, tol);
          require_close(got.mean, want.mean, tol, tol);
          require_close(got.rstd, want.rstd, tol, 0);
          // Backward from the same saved statistics on both devices (the CPU's, copied).
          const LayerNormBackward gwant = layer_norm_backward(dy, x, want.mean, want.rstd, w, affine);
          const LayerNormBackward ggot = layer_norm_backward(dy.to(gpu), x.to(gpu), want.mean.to(gpu), want.rstd.to(gpu), gw, affine);
          require_close(ggot.dx, gwant.dx, tol, tol);
          REQUIRE(ggot.dweight.defined() == affine);
          REQUIRE(ggot.dbias.defined() == affine);
          if (affine) {
            // dweight and dbias are sums over rows: their error grows with the number of rows.
            require_close(ggot.dweight, gwant.dweight, tol, tol * double(rows));
            require_close(ggot.dbias, gwant.dbias, tol, tol * double(rows));
            const LayerNormBackward again = layer_norm_backward(dy.to(gpu), x.to(gpu), want.mean.to(gpu), want.rstd.to(gpu), gw, affine);
            require_equal(again.dweight, ggot.dweight);  // deterministic: no atomics
          }
        }
  // Many rows: the column sums of dweight/dbias loop over rows in several threads.
  const Tensor x = randn({3000, 37}, gen), dy = randn({3000, 37}, gen), w = randn({37}, gen);
  const LayerNormForward f = layer_norm_forward(x, w, Tensor(), 1e-5);
  const LayerNormBackward want = layer_norm_backward(dy, x, f.mean, f.rstd, w, true);
  const LayerNormBackward got = layer_norm_backward(dy.to(gpu), x.to(gpu), f.mean.to(gpu), f.rstd.to(gpu), w.to(gpu), true);
  require_close(got.dx, want.dx, 1e-5, 1e-5);
  require_close(got.dweight, want.dweight, 1e-5, 1e-3);
  require_close(got.dbias, want.dbias, 1e-5, 1e-3);
}

TEST_CASE("index_select_rows and index_add_rows on the GPU match the CPU", "[cuda][nn]") {
  Generator gen(24);
  for (DType d : {DType::f32, DType::f64})
    for (int64_t V : {int64_t(1), int64_t(7), int64_t(33)})
      for (int64_t C : widths) {
        INFO(dtype_name(d) << " table [" << V << ", " << C << "]");
        // 3 x 11 ids drawn from V rows: with V < 33 some repeat, so index_add sums several rows into one.
        std::vector<int64_t> ids(33);
        for (int64_t& id : ids) id = int64_t(gen.next_u32() % uint32_t(V));
        const Tensor id_tensor = from_vector(ids, {3, 11});
        const Tensor table = randn({V, C}, gen, d), grad = randn({3, 11, C}, gen, d);
        require_equal(index_select_rows(table.to(gpu), id_tensor.to(gpu)), index_select_rows(table, id_tensor));
        require_equal(index_select_rows(table.to(gpu), id_tensor.to(DType::i32).to(gpu)), index_select_rows(table, id_tensor));
        // Atomics add in any order: allow the rounding error of a sum, which grows with sum |terms|.
        const Tensor want = index_add_rows(grad, id_tensor, V);
        std::vector<double> bound = index_add_rows(lab::abs(grad), id_tensor, V).to_vector<double>();
        for (double& b : bound) b = rtol_for(d) * b;
        require_within(index_add_rows(grad.to(gpu), id_tensor.to(gpu), V), want, bound);
        require_within(index_add_rows(grad.to(gpu).transpose(0, 1).contiguous().transpose(0, 1), id_tensor.to(gpu), V), want, bound);
      }
  CHECK_THROWS_WITH(index_select_rows(zeros({4, 2}, DType::f32, gpu), from_vector<int64_t>({0, 4}).to(gpu)),
                    Catch::Contains("id 4 at position [1]"));
  CHECK(index_add_rows(zeros({0, 3}, DType::f32, gpu), from_vector<int64_t>(std::vector<int64_t>{}, {0}).to(gpu), 2).to_vector<float>() ==
        std::vector<float>(6, 0.0f));
}

TEST_CASE("masked_fill and cat on the GPU match the CPU", "[cuda][nn]") {
  Generator gen(25);
  for (DType d : {DType::f32, DType::f64}) {
    INFO(dtype_name(d));
    const Tensor x = randn({7, 33, 5}, gen, d), gx = x.to(gpu);
    for (const Shape& mask_shape : std::vector<Shape>{{7, 33, 5}, {33, 1}, {5}, {7, 1, 1}, {}}) {
      INFO("mask " << shape_str(mask_shape));
      std::vector<uint8_t> m(static_cast<size_t>(numel(mask_shape)));
      for (uint8_t& v : m) v = gen.uniform() < 0.3f ? 1 : 0;
      const Tensor mask = from_vector(m, mask_shape);
      require_equal(masked_fill(gx, mask.to(gpu), -1e9), masked_fill(x, mask, -1e9));
      require_equal(masked_fill(gx.transpose(0, 2), mask.to(gpu).expand(x.shape()).transpose(0, 2), 3.5),
                    masked_fill(x.transpose(0, 2), mask.expand(x.shape()).transpose(0, 2), 3.5));
    }
    for (int64_t dim = 0; dim < 3; dim++) {
      INFO("cat along dim " << dim);
      Shape sb = x.shape();
      sb[dim] = 2;
      const Tensor b = randn(sb, gen, d);
      // x's values with column-major strides, made on each device: cat reads a non-contiguous view.
      const Tensor c = x.transpose(0, 2).contiguous().transpose(0, 2), gc = gx.transpose(0, 2).contiguous().transpose(0, 2);
      REQUIRE_FALSE(gc.is_contiguous());
      require_equal(cat({gx, b.to(gpu), gc}, dim), cat({x, b, c}, dim));
    }
  }
}
