// Every GPU kernel of cuda/ against its CPU reference in tensor/, on the same random inputs.
//
// Casts and copies must give the same bits as the CPU; float math must agree within a tolerance
// (the GPU's exp/tanh/pow differ from glibc's in the last bits, and it fuses multiply-adds).
// Most tests go through the Tensor API (.to(Device::cuda()), ops, back to the CPU); each numbered
// matmul version is called directly in test_cuda_matmul.cpp.
// Run only where a GPU is present: cuda_test_main.cpp skips them elsewhere.
#include <catch2/catch.hpp>

#include "cuda/reduce.h"
#include "cuda/runtime.h"
#include "tensor/all.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);
const Device cpu = Device::cpu();
const std::vector<DType> all_dtypes = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i8, DType::u8, DType::i32, DType::i64};

// |got - want| <= bound[i] for every element; NaN only where want is NaN, infinities exactly.
void require_within(const Tensor& got, const Tensor& want, const std::vector<double>& bound) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < w.size(); i++) {
    const bool ok = std::isnan(w[i]) ? std::isnan(g[i]) : std::isinf(w[i]) ? g[i] == w[i] : std::abs(g[i] - w[i]) <= bound[i];
    if (!ok) FAIL("element " << i << " of " << w.size() << ": got " << g[i] << ", want " << w[i] << ", allowed error " << bound[i]);
  }
}

// Relative tolerance on each element, with an absolute floor for values near zero.
void require_close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  std::vector<double> bound = want.to_vector<double>();
  for (double& b : bound) b = atol + rtol * std::abs(b);
  require_within(got, want, bound);
}

// The same dtype, shape and bytes: what a cast or a copy must give on both devices. Any NaN matches
// any NaN: the GPU's float conversions return a canonical NaN where the CPU keeps the payload.
void require_same_bits(const Tensor& got_any, const Tensor& want_any) {
  const Tensor got = got_any.to(cpu).contiguous(), want = want_any.to(cpu).contiguous();
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  const size_t size = got.element_size();
  const auto* g_bytes = static_cast<const unsigned char*>(got.raw_data());
  const auto* w_bytes = static_cast<const unsigned char*>(want.raw_data());
  for (size_t i = 0; i < w.size(); i++) {
    if (std::memcmp(g_bytes + i * size, w_bytes + i * size, size) != 0 && !(std::isnan(g[i]) && std::isnan(w[i])))
      FAIL(dtype_name(got.dtype()) << " element " << i << " differs: got " << g[i] << ", want " << w[i]);
  }
}

// ||got - want||_F / ||want||_F
double relative_frobenius(const Tensor& got, const Tensor& want) {
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double diff = 0, norm = 0;
  for (size_t i = 0; i < w.size(); i++) diff += (g[i] - w[i]) * (g[i] - w[i]), norm += w[i] * w[i];
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-300);
}

// Values that probe every conversion rule: ties for bf16/f16, their overflow and subnormals,
// integer limits, truncation, NaN and infinities; then random normals.
Tensor special_values() {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {0.0, -0.0, 1.5, -2.5, 2.5, 0.9999, 1.00390625, 1.0 + 1.0 / 2048, 2049, 65504, 65519, 65520, 1e5,
                           127.9, 128, -128.5, -129, 255.5, 256, 300, -1, 1e10, -1e10, 2147483648.0, -2147483649.0, 9.3e18,
                           -9.3e18, 3e38, 1e300, 6e-8, 3e-5, 1e-8, 1e-40, nan, -nan, inf, -inf};
  Generator gen(7);
  while (v.size() < 48) v.push_back(4 * gen.normal());
  return from_vector(v, {6, 8});
}

// Restores "no budget" on the GPU when a test ends, even a failed one.
struct NoBudgetAfter {
  ~NoBudgetAfter() { set_memory_budget(gpu, 0); }
};

}  // namespace

TEST_CASE("runtime reports the device and clears a failed allocation", "[cuda]") {
  REQUIRE(cuda::device_count() >= 1);
  CHECK_FALSE(cuda::device_name(0).empty());
  size_t free_bytes = 0, total_bytes = 0;
  cuda::free_and_total_memory(0, &free_bytes, &total_bytes);
  CHECK(total_bytes > 0);
  CHECK(free_bytes <= total_bytes);
  // 1 PiB cannot be had; the error must name the problem and leave the GPU usable.
  REQUIRE_THROWS_WITH(cuda::malloc(0, size_t(1) << 50), Catch::Contains("out of memory"));
  require_close(add(ones({3}, DType::f32, gpu), 1.0), full({3}, 2.0), 0, 0);
}

TEST_CASE("allocator counts cuda memory and refuses past the budget", "[cuda]") {
  NoBudgetAfter restore;
  const MemoryStats before = memory_stats(gpu);
  {
    Tensor t = empty({1000}, DType::f32, gpu);
    CHECK(memory_stats(gpu).current == before.current + 4000);
    CHECK(memory_stats(gpu).peak >= before.current + 4000);
    CHECK(memory_stats(gpu).allocations == before.allocations + 1);
  }
  CHECK(memory_stats(gpu).current == before.current);
  set_memory_budget(gpu, before.current + 4096);
  CHECK_THROWS_AS(empty({1025}, DType::f32, gpu), OutOfMemory);
  CHECK(memory_stats(gpu).current == before.current);
  Tensor fits = empty({1024}, DType::f32, gpu);
  CHECK(memory_stats(gpu).current == before.current + 4096);
}

TEST_CASE("fill writes every dtype as the CPU does", "[cuda][copy]") {
  const std::vector<double> values = special_values().to_vector<double>();
  for (DType d : all_dtypes) {
    for (double v : values) {
      INFO(dtype_name(d) << " filled with " << v);
      require_same_bits(full({3, 5}, v, d, gpu), full({3, 5}, v, d));
      // A strided view: every other row, transposed. The rows in between must stay 0.
      Tensor on_gpu = zeros({6, 5}, d, gpu), on_cpu = zeros({6, 5}, d);
      on_gpu.slice(0, 0, 6, 2).t().fill_(v);
      on_cpu.slice(0, 0, 6, 2).t().fill_(v);
      require_same_bits(on_gpu, on_cpu);
    }
  }
}

TEST_CASE("copy_cast converts every dtype pair as the CPU does", "[cuda][copy]") {
  const Tensor values = special_values().to(DType::f64);
  for (DType from : all_dtypes) {
    const Tensor src_cpu = values.to(from);
    const Tensor src_gpu = src_cpu.to(gpu);
    require_same_bits(src_gpu, src_cpu);  // the round trip through the GPU keeps every bit
    for (DType to : all_dtypes) {
      INFO(dtype_name(from) << " -> " << dtype_name(to));
      require_same_bits(src_gpu.to(to), src_cpu.to(to));                  // contiguous
      require_same_bits(src_gpu.t().to(to), src_cpu.t().to(to));          // transposed source
      Tensor dst_gpu = empty({3, 6, 8}, to, gpu), dst_cpu = empty({3, 6, 8}, to);
      dst_gpu.copy_(src_gpu);                                             // broadcast source (stride 0)
      dst_cpu.copy_(src_cpu);
      require_same_bits(dst_gpu, dst_cpu);
    }
  }
}

TEST_CASE("strided copies on the GPU: transpose, permute, slices, into views", "[cuda][copy]") {
  Generator gen(1);
  const Tensor x = randn({4, 33, 65}, gen);
  const Tensor gx = x.to(gpu);
  require_same_bits(gx.transpose(1, 2).contiguous(), x.transpose(1, 2).contiguous());
  require_same_bits(gx.permute({2, 0, 1}).contiguous(), x.permute({2, 0, 1}).contiguous());
  require_same_bits(gx.slice(1, 1, 30, 3).slice(2, 5, 64, 2).contiguous(), x.slice(1, 1, 30, 3).slice(2, 5, 64, 2).contiguous());
  require_same_bits(gx.select(2, 7).contiguous(), x.select(2, 7).contiguous());
  require_same_bits(gx.slice(2, 3, 60, 7).transpose(0, 2), x.slice(2, 3, 60, 7).transpose(0, 2));  // GPU -> CPU of a strided view
  // CPU -> a strided GPU view (staged through a contiguous GPU buffer), and GPU -> GPU into a view.
  const Tensor y = randn({65, 33}, gen);
  Tensor target = zeros({33, 65}, DType::f32, gpu);
  target.t().copy_(y);
  require_same_bits(target, y.t());
  Tensor halves = zeros({33, 130}, DType::f32, gpu);
  halves.slice(1, 0, 130, 2).copy_(target);
  require_same_bits(halves.slice(1, 0, 130, 2), y.t());
  require_same_bits(halves.slice(1, 1, 130, 2), zeros({33, 65}));
}

TEST_CASE("unary ops match the CPU, contiguous and strided", "[cuda][elementwise]") {
  using Op = std::function<Tensor(const Tensor&)>;
  struct Case {
    const char* name;
    Op op;
    bool positive;  // needs x > 0
  };
  const std::vector<Case> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, false},      {"abs", [](const Tensor& x) { return lab::abs(x); }, false},
      {"exp", [](const Tensor& x) { return lab::exp(x); }, false}, {"log", [](const Tensor& x) { return lab::log(x); }, true},
      {"sqrt", [](const Tensor& x) { return lab::sqrt(x); }, true}, {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, true},
      {"tanh", [](const Tensor& x) { return lab::tanh(x); }, false}, {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, false},
      {"relu", [](const Tensor& x) { return relu(x); }, false},     {"gelu", [](const Tensor& x) { return gelu(x); }, false},
      {"add", [](const Tensor& x) { return add(x, 0.75); }, false}, {"mul", [](const Tensor& x) { return mul(x, -1.5); }, false},
      {"pow 2.5", [](const Tensor& x) { return lab::pow(x, 2.5); }, true},
      {"pow 3", [](const Tensor& x) { return lab::pow(x, 3.0); }, false},
  };
  Generator gen(2);
  for (DType d : {DType::f32, DType::f64}) {
    const Tensor x = randn({7, 33}, gen, d);
    const Tensor positive = add(lab::abs(x), 0.1);
    const double rtol = d == DType::f32 ? 1e-5 : 1e-12, atol = d == DType::f32 ? 1e-6 : 1e-14;
    for (const Case& c : cases) {
      INFO(c.name << " on " << dtype_name(d));
      const Tensor in = c.positive ? positive : x;
      const Tensor in_gpu = in.to(gpu);
      require_close(c.op(in_gpu), c.op(in), rtol, atol);
      require_close(c.op(in_gpu.t()), c.op(in.t()), rtol, atol);                          // transposed
      require_close(c.op(in_gpu.slice(1, 2, 33, 3)), c.op(in.slice(1, 2, 33, 3)), rtol, atol);  // sliced
    }
  }
}

TEST_CASE("binary ops broadcast over strided inputs as on the CPU", "[cuda][elementwise]") {
  using Op = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::vector<std::pair<const char*, Op>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"pow", [](const Tensor& a, const Tensor& b) { return lab::pow(add(lab::abs(a), 0.5), b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
  };
  Generator gen(3);
  for (DType d : {DType::f32, DType::f64}) {
    const double rtol = d == DType::f32 ? 1e-5 : 1e-12, atol = d == DType::f32 ? 1e-6 : 1e-14;
    // Each operand on both devices, views taken on each device (so the GPU kernel reads strides).
    struct Both {
      Tensor cpu, gpu;
    };
    auto both = [](const Tensor& t) { return Both{t, t.to(gpu)}; };
    auto permute = [](const Tensor& t) { return t.permute({2, 1, 0}); };                    // [33, 5, 4] -> [4, 5, 33]
    auto slice = [](const Tensor& t) { return t.slice(0, 0, 10, 2).slice(1, 1, 66, 2); };  // [10, 66] -> [5, 33]
    const Both permuted = both(randn({33, 5, 4}, gen, d)), sliced = both(randn({10, 66}, gen, d));
    const Both a_permuted{permute(permuted.cpu), permute(permuted.gpu)}, b_sliced{slice(sliced.cpu), slice(sliced.gpu)};
    REQUIRE_FALSE(a_permuted.gpu.is_contiguous());
    REQUIRE_FALSE(b_sliced.gpu.is_contiguous());
    const Both a = both(randn({4, 1, 33}, gen, d)), b = both(randn({5, 1}, gen, d)), s = both(full({}, 1.25, d));
    // Pairs that broadcast to [4, 5, 33] (or [4, 1, 33] with the scalar s).
    const std::vector<std::pair<Both, Both>> pairs = {{a, b}, {a_permuted, b_sliced}, {b_sliced, a_permuted}, {a, s}, {s, a_permuted}};
    for (const auto& [name, op] : ops)
      for (size_t p = 0; p < pairs.size(); p++) {
        INFO(name << " on " << dtype_name(d) << ", operand pair " << p);
        const auto& [x, y] = pairs[p];
        require_close(op(x.gpu, y.gpu), op(x.cpu, y.cpu), rtol, atol);
      }
  }
  // NaN propagates through maximum and minimum, from either side.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor x = from_vector<float>({float(nan), 1, 2, -0.0f}), y = from_vector<float>({0, float(nan), 3, 0.0f});
  require_same_bits(maximum(x.to(gpu), y.to(gpu)), maximum(x, y));
  require_same_bits(minimum(x.to(gpu), y.to(gpu)), minimum(x, y));
}

TEST_CASE("sum and mean over each dim and over all match the CPU", "[cuda][reduce]") {
  Generator gen(4);
  const std::vector<std::vector<int64_t>> dim_sets = {{0}, {1}, {2}, {0, 2}, {-1, 1}, {}};
  for (DType d : {DType::f32, DType::f64}) {
    const double rtol = d == DType::f32 ? 1e-5 : 1e-12;
    // Shapes for each kernel path: small 3-D; few long rows (split in chunks, two passes); many
    // short rows; long columns.
    for (const Shape& shape : std::vector<Shape>{{6, 35, 17}, {3, 200000, 1}, {20000, 5, 1}, {1, 100000, 3}}) {
      const Tensor x = randn(shape, gen, d), gx = x.to(gpu);
      for (const auto& dims : dim_sets)
        for (bool keepdim : {false, true}) {
          INFO(dtype_name(d) << " " << shape_str(shape) << " over " << dims.size() << " dims (0 = all), keepdim " << keepdim);
          // The error of a sum grows with the sum of |x|, not with the (cancelling) sum itself.
          std::vector<double> bound = sum(lab::abs(x), dims, keepdim).to_vector<double>();
          for (double& b : bound) b = rtol * b + 1e-30;
          require_within(sum(gx, dims, keepdim), sum(x, dims, keepdim), bound);
          std::vector<double> mean_bound = mean(lab::abs(x), dims, keepdim).to_vector<double>();
          for (double& b : mean_bound) b = rtol * b + 1e-30;
          require_within(mean(gx, dims, keepdim), mean(x, dims, keepdim), mean_bound);
        }
    }
  }
  // A long vector, summed whole: the two-pass path at its largest.
  const Tensor v = randn({1 << 22}, gen);
  require_within(sum(v.to(gpu)), sum(v), {1e-5 * sum(lab::abs(v)).item<double>()});
}

TEST_CASE("max and argmax over each dim match the CPU, ties and NaN included", "[cuda][reduce]") {
  Generator gen(5);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (DType d : {DType::f32, DType::f64}) {
    for (const Shape& shape : std::vector<Shape>{{6, 35, 17}, {3, 200000}, {20000, 5}, {100000, 3}}) {
      // Small integers: many equal values, so the first-index rule is exercised everywhere.
      Tensor x = mul(randn(shape, gen), 2.0).to(DType::i32).to(DType::f32);
      float* p = x.data<float>();
      p[5] = nan, p[x.numel() / 2] = nan, p[x.numel() / 2 + 3] = nan, p[x.numel() - 1] = -inf;
      x = x.to(d);
      const Tensor gx = x.to(gpu);
      for (int64_t dim = 0; dim < x.dim(); dim++) {
        INFO(dtype_name(d) << " " << shape_str(shape) << " dim " << dim);
        require_same_bits(lab::max(gx, dim), lab::max(x, dim));
        require_same_bits(argmax(gx, dim), argmax(x, dim));
        require_same_bits(argmax(gx, dim, true), argmax(x, dim, true));
      }
      require_same_bits(lab::max(gx), lab::max(x));
      require_same_bits(argmax(gx.flatten(), 0), argmax(x.flatten(), 0));
    }
  }
  // Long vectors (two passes): ties across chunks, the maximum last, all -inf, a late NaN.
  const int64_t n = 1 << 21;
  Tensor late_nan = randn({n}, gen);
  late_nan.data<float>()[n - 5] = nan, late_nan.data<float>()[n - 2] = nan;
  for (const Tensor& v : {ones({n}), arange(0, double(n), 1, DType::f32), full({n}, -inf), late_nan,
                          mul(randn({n}, gen), 2.0).to(DType::i32).to(DType::f32)}) {
    require_same_bits(argmax(v.to(gpu), 0), argmax(v, 0));
    require_same_bits(lab::max(v.to(gpu)), lab::max(v));
  }
}

TEST_CASE("the two-pass reduction's scratch comes from the allocator and obeys its budget", "[cuda][reduce]") {
  NoBudgetAfter restore;
  const int64_t n = 1 << 16;  // one row this long is split in chunks on any GPU: two passes
  const Tensor v = arange(0, double(n), 1, DType::f32), gv = v.to(gpu);
  const size_t scratch = cuda::reduce_scratch_bytes(1, n, 1, sizeof(float), true);
  REQUIRE(scratch > sizeof(int64_t) * 2);
  CHECK(cuda::reduce_scratch_bytes(1, n, 1, sizeof(float), false) < scratch);  // no indices for max or sum
  CHECK(cuda::reduce_scratch_bytes(1 << 20, 4, 1, sizeof(float), true) == 0);   // many short rows: one pass
  CHECK(cuda::reduce_scratch_bytes(1, n, 3, sizeof(float), true) == 0);         // columns: one kernel
  const MemoryStats before = memory_stats(gpu);
  reset_peak_memory(gpu);
  const Tensor index = argmax(gv, 0);
  require_same_bits(index, argmax(v, 0));
  CHECK(memory_stats(gpu).current == before.current + sizeof(int64_t));  // the scratch is given back
  CHECK(memory_stats(gpu).peak >= before.current + sizeof(int64_t) + scratch);
  // Room for the answer, not for the scratch: the budget's OutOfMemory, and nothing kept.
  set_memory_budget(gpu, memory_stats(gpu).current + 2 * sizeof(int64_t));
  CHECK_THROWS_AS(argmax(gv, 0), OutOfMemory);
  CHECK_THROWS_AS(sum(gv), OutOfMemory);
  CHECK(memory_stats(gpu).current == before.current + sizeof(int64_t));
}

TEST_CASE("lab::matmul on the GPU matches the CPU for odd sizes and batches", "[cuda][matmul]") {
  Generator gen(6);
  const std::vector<int64_t> sizes = {1, 7, 33, 129};
  for (DType d : {DType::f32, DType::f64}) {
    const double tol = d == DType::f32 ? 1e-5 : 1e-12;
    for (int64_t M : sizes)
      for (int64_t N : sizes)
        for (int64_t K : sizes) {
          INFO(dtype_name(d) << " M " << M << " N " << N << " K " << K);
          const Tensor a = randn({M, K}, gen, d), b = randn({K, N}, gen, d);
          CHECK(relative_frobenius(matmul(a.to(gpu), b.to(gpu)), matmul(a, b)) < tol);
        }
    // Batched and broadcast shapes, vectors, and transposed (non-contiguous) operands.
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{3, 33, 7}, {7, 129}}, {{2, 1, 7, 33}, {4, 33, 5}}, {{5, 1, 3}, {5, 3, 1}}, {{33}, {33, 7}}, {{7, 33}, {33}}, {{129}, {129}}};
    for (const auto& [sa, sb] : shapes) {
      INFO(dtype_name(d) << " " << shape_str(sa) << " @ " << shape_str(sb));
      const Tensor a = randn(sa, gen, d), b = randn(sb, gen, d);
      CHECK(relative_frobenius(matmul(a.to(gpu), b.to(gpu)), matmul(a, b)) < tol);
    }
    const Tensor at = randn({33, 7}, gen, d), bt = randn({129, 33}, gen, d);
    CHECK(relative_frobenius(matmul(at.to(gpu).t(), bt.to(gpu).t()), matmul(at.t(), bt.t())) < tol);
  }
}

TEST_CASE("ops on dtypes the GPU kernels lack fail with a clear message", "[cuda]") {
  const Tensor h = ones({4}, DType::bf16, gpu);
  REQUIRE_THROWS_WITH(lab::exp(h), Catch::Contains("supports f32 and f64"));
  REQUIRE_THROWS_WITH(sum(h), Catch::Contains("supports f32 and f64"));
}
