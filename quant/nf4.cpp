// NF4 blockwise quantization: the scalar reference codec, the tensor-level functions, and their
// one dispatch to the GPU kernels of cuda/nf4.cu.
//
// The CPU path runs quantize_block_nf4 on every block (OpenMP over blocks), so the reference is
// the code that runs. The GPU kernels are held to the same bits (tests/cuda/test_cuda_nf4.cpp).
// Not here: the table (nf4_table.cpp), double quantization (double_quant.cpp), files (nf4_io.cpp).
#include "quant/nf4.h"
#include "quant/nf4_kernels_cpu.h"
#include "quant/nf4_matmul_cpu.h"

#include "tensor/error.h"
#include "tensor/matmul.h"
#include "tensor/strided_loop.h"

#if LAB_HAS_CUDA
#include "cuda/nf4.h"
#include "cuda/runtime.h"
#endif

#include <algorithm>
#include <cmath>

namespace lab::quant {

// The value is scaled by the reciprocal of absmax, as bitsandbytes' kernel does (x * (1 / absmax),
// not x / absmax). A zero block scales by 0 (every code becomes 7); an absmax so small that
// 1 / absmax overflows (below 2^-128) divides instead, so that no finite input turns into inf or NaN.
float quantize_block_nf4(const float* x, int64_t len, uint8_t* packed) {
  LAB_CHECK(len >= 0 && len <= 4096, "quantize_block_nf4: a block holds at most 4096 values, got {}", len);
  float absmax = 0;
  for (int64_t i = 0; i < len; i++) absmax = std::max(absmax, std::fabs(x[i]));
  const float inv = absmax > 0 ? 1.0f / absmax : 0.0f;
  float t[15];  // nf4_code's thresholds in a local copy, so they can live in registers
  std::copy(nf4_thresholds().begin(), nf4_thresholds().end(), t);
  // Codes first (a plain loop the compiler vectorizes), then two a byte; the pad of an odd block is 0.0.
  uint8_t codes[4096 + 1];
  for (int64_t i = 0; i < len; i++) {
    const float s = std::isinf(inv) ? x[i] / absmax : x[i] * inv;
    int c = 0;
    for (int k = 0; k < 15; k++) c += s > t[k];
    codes[i] = uint8_t(c);
  }
  codes[len] = nf4_code(0.0f);
  for (int64_t j = 0; 2 * j < len; j++) packed[j] = uint8_t(codes[2 * j] << 4 | codes[2 * j + 1]);  // element 2j in the high nibble
  return absmax;
}

// x_i = NF4[code_i] * absmax
void dequantize_block_nf4(const uint8_t* packed, float absmax, int64_t len, float* out) {
  const std::array<float, 16>& t = nf4_table();
  for (int64_t i = 0; i < len; i++) {
    const uint8_t byte = packed[i / 2];
    out[i] = t[i % 2 == 0 ? byte >> 4 : byte & 0x0f] * absmax;
  }
}

void quantize_row_nf4_ref(const float* x, BlockNF4* y, int64_t k) {
  for (int64_t b = 0; b * kDefaultBlockSize < k; b++) {
    const int64_t len = std::min(kDefaultBlockSize, k - b * kDefaultBlockSize);
    std::fill(std::begin(y[b].qs), std::end(y[b].qs), uint8_t(0x77));  // a partial block's unused bytes: code 7 pairs
    y[b].absmax = quantize_block_nf4(x + b * kDefaultBlockSize, len, y[b].qs);
  }
}

void dequantize_row_nf4(const BlockNF4* x, float* y, int64_t k) {
  for (int64_t b = 0; b * kDefaultBlockSize < k; b++)
    dequantize_block_nf4(x[b].qs, x[b].absmax, std::min(kDefaultBlockSize, k - b * kDefaultBlockSize), y + b * kDefaultBlockSize);
}

void quantize_nf4_ref(const float* x, int64_t n, int64_t blocksize, uint8_t* packed, float* absmax) {
  check_blocksize(blocksize, "quantize_nf4");
  const int64_t blocks = num_blocks(n, blocksize);
  (void)nf4_thresholds();  // build the table before the threads start
#pragma omp parallel for if (n >= kParallelGrain)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t len = std::min(blocksize, n - b * blocksize);
    absmax[b] = quantize_block_nf4(x + b * blocksize, len, packed + b * blocksize / 2);  // blocksize is even: blocks start on a byte
  }
}

void dequantize_nf4_ref(const uint8_t* packed, const float* absmax, int64_t n, int64_t blocksize, float* out) {
  check_blocksize(blocksize, "dequantize_nf4");
  const int64_t blocks = num_blocks(n, blocksize);
  (void)nf4_table();
#pragma omp parallel for if (n >= kParallelGrain)
  for (int64_t b = 0; b < blocks; b++)
    dequantize_block_nf4(packed + b * blocksize / 2, absmax[b], std::min(blocksize, n - b * blocksize), out + b * blocksize);
}

// --- NF4Tensor

size_t NF4Tensor::nbytes() const {
  size_t bytes = packed.defined() ? packed.nbytes() : 0;
  if (absmax.defined()) bytes += absmax.nbytes();
  if (nested.defined()) bytes += nested.codes.nbytes() + nested.absmax2.nbytes();
  return bytes;
}

double NF4Tensor::bits_per_parameter() const { return numel() > 0 ? 8.0 * double(nbytes()) / double(numel()) : 0.0; }

NF4Tensor NF4Tensor::to(Device device) const {
  NF4Tensor out = *this;
  out.packed = packed.to(device);
  if (absmax.defined()) out.absmax = absmax.to(device);
  if (nested.defined()) out.nested.codes = nested.codes.to(device), out.nested.absmax2 = nested.absmax2.to(device);
  return out;
}

cuda::NF4Table nf4_gpu_table() {
  cuda::NF4Table t;
  std::copy(nf4_table().begin(), nf4_table().end(), t.v);
  std::copy(nf4_thresholds().begin(), nf4_thresholds().end(), t.thresholds);
  return t;
}

cuda::NF4Weight nf4_gpu_weight(const NF4Tensor& q) {
  cuda::NF4Weight w;
  w.packed = q.packed.data<uint8_t>();
  w.n = q.numel();
  w.blocksize = q.blocksize;
  if (q.double_quantized()) {
    w.qabsmax = q.nested.codes.data<uint8_t>();
    w.absmax2 = q.nested.absmax2.data<float>();
    w.offset = q.nested.offset;
    w.blocksize2 = q.nested.blocksize;
    std::copy(q.nested.map.begin(), q.nested.map.end(), w.map.v);
  } else {
    w.absmax = q.absmax.data<float>();
  }
  return w;
}

NF4Tensor quantize_nf4(const Tensor& x_in, int64_t blocksize, bool double_quant) {
  LAB_CHECK(x_in.defined(), "quantize_nf4: undefined tensor");
  LAB_CHECK(is_floating(x_in.dtype()), "quantize_nf4: needs a floating-point tensor, got {}", dtype_name(x_in.dtype()));
  check_blocksize(blocksize, "quantize_nf4");
  const Tensor x = x_in.to(DType::f32).contiguous();
  NF4Tensor q;
  q.shape = x_in.shape();
  // bitsandbytes records the dtype to dequantize to: f32, bf16 or f16 (anything else becomes f32)
  q.dtype = x_in.dtype() == DType::bf16 || x_in.dtype() == DType::f16 ? x_in.dtype() : DType::f32;
  q.blocksize = blocksize;
  const int64_t n = x.numel();
  q.packed = Tensor::empty({(n + 1) / 2, 1}, DType::u8, x.device());  // bitsandbytes' shape for the packed codes
  q.absmax = Tensor::empty({num_blocks(n, blocksize)}, DType::f32, x.device());
  if (n > 0) {
    if (x.device().is_cuda()) {
#if LAB_HAS_CUDA
      cuda::set_device(x.device().index);
      cuda::nf4_quantize(q.packed.data<uint8_t>(), q.absmax.data<float>(), x.data<float>(), n, blocksize, nf4_gpu_table());
#endif
    } else {
      quantize_nf4_ref(x.data<float>(), n, blocksize, q.packed.data<uint8_t>(), q.absmax.data<float>());
    }
  }
  if (double_quant) {
    q.nested = double_quantize(q.absmax);
    q.absmax = Tensor();  // the f32 absmaxes go back to the allocator: that is the saving
  }
  return q;
}

Tensor nf4_absmax(const NF4Tensor& q) { return q.double_quantized() ? double_dequantize(q.nested) : q.absmax; }

static void check_nf4(const NF4Tensor& q, const char* what) {
  check_blocksize(q.blocksize, what);
  LAB_CHECK(q.packed.defined() && q.packed.dtype() == DType::u8 && q.packed.numel() == (q.numel() + 1) / 2,
            "{}: the packed codes must be u8 with {} bytes for shape {}", what, (q.numel() + 1) / 2, shape_str(q.shape));
  const Tensor& stats = q.double_quantized() ? q.nested.codes : q.absmax;
  LAB_CHECK(stats.defined() && stats.numel() == q.blocks(), "{}: expected {} absmax values (one a block of {})", what, q.blocks(), q.blocksize);
}

Tensor dequantize_nf4(const NF4Tensor& q) {
  check_nf4(q, "dequantize_nf4");
  Tensor out = Tensor::empty(q.shape, DType::f32, q.device());
  if (q.numel() == 0) return out;
  if (q.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(q.device().index);
    cuda::nf4_dequantize(out.data<float>(), nf4_gpu_weight(q), nf4_gpu_table());
    return out;
#endif
  }
  // the fastest CPU version of lesson 08 (SIMD table lookup, OpenMP); equal to dequantize_nf4_ref bit for bit
  const Tensor absmax = nf4_absmax(q).contiguous();
  nf4_dequant_fastest(q.packed.data<uint8_t>(), absmax.data<float>(), q.numel(), q.blocksize, out.data<float>());
  return out;
}

// W [rows, cols] -> W^T [cols, rows], dequantized on the way (the CPU reference of the transposed kernel).
static Tensor dequantize_transposed(const NF4Tensor& q, int64_t rows, int64_t cols) {
  Tensor out = Tensor::empty({cols, rows}, DType::f32, q.device());
  if (q.numel() == 0) return out;
  if (q.device().is_cuda()) {
#if LAB_HAS_CUDA
    cuda::set_device(q.device().index);
    cuda::nf4_dequantize_transposed(out.data<float>(), nf4_gpu_weight(q), rows, cols, nf4_gpu_table());
    return out;
#endif
  }
  const Tensor w = dequantize_nf4(q);
  const float* src = w.data<float>();
  float* dst = out.data<float>();
  parallel_for(cols, [&](int64_t c) {
    for (int64_t r = 0; r < rows; r++) dst[c * rows + r] = src[r * cols + c];
  });
  return out;
}

// The weight's [out, in], after checking that it is 2-D and that `x` ends in `features` of them.
static void check_linear(const Tensor& x, const NF4Tensor& w, bool input_side, const char* what, int64_t* out_f, int64_t* in_f) {
  LAB_CHECK(w.shape.size() == 2, "{}: the NF4 weight must be 2-D [out, in], got shape {}", what, shape_str(w.shape));
  *out_f = w.shape[0], *in_f = w.shape[1];
  const int64_t features = input_side ? *in_f : *out_f;
  LAB_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == features, "{}: a tensor of shape {} must end in {} features for weight {}", what,
            x.defined() ? shape_str(x.shape()) : "(undefined)", features, shape_str(w.shape));
  LAB_CHECK(x.device() == w.device(), "{}: input on {}, weight on {} (HINT: .to() one of them)", what, x.device().str(), w.device().str());
  check_nf4(w, what);
}

// f64 stays f64 (for gradcheck); every other dtype computes in f32.
static DType compute_dtype(const Tensor& x) { return x.dtype() == DType::f64 ? DType::f64 : DType::f32; }

Tensor nf4_linear(const Tensor& x_in, const NF4Tensor& w) {
  int64_t out_f, in_f;
  check_linear(x_in, w, true, "nf4_linear", &out_f, &in_f);
  const DType dt = compute_dtype(x_in);
  const Tensor x = x_in.to(dt).contiguous();
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  const int64_t M = in_f > 0 ? x.numel() / in_f : 0;
  if (x.device().is_cuda() && dt == DType::f32) {
#if LAB_HAS_CUDA
    Tensor y = Tensor::empty(out_shape, DType::f32, x.device());
    if (y.numel() == 0) return y;
    if (in_f == 0) {  // an empty sum
      y.fill_(0);
      return y;
    }
    Tensor scratch = Tensor::empty({in_f, out_f}, DType::f32, x.device());
    cuda::set_device(x.device().index);
    cuda::nf4_linear_f32(y.data<float>(), x.data<float>(), M, nf4_gpu_weight(w), out_f, in_f, scratch.data<float>(), nf4_gpu_table());
    return y;
#endif
  }
  // f32 on the CPU: lesson 08's fused kernels decode W while they multiply (the GEMV reads 0.56 bytes a
  // weight at batch 1, 19x faster than dequantize-then-matmul; bench/RESULTS.md), never a whole f32 W
  if (x.device().is_cpu() && dt == DType::f32) return nf4_matmul_fused(x, w);
  // f64 (gradcheck): y = x W^T with W^T dequantized contiguous, so matmul copies nothing
  return lab::matmul(x.reshape({M, in_f}), dequantize_transposed(w, out_f, in_f).to(dt)).reshape(out_shape);
}

// dx = g W
Tensor nf4_linear_backward_input(const Tensor& g, const NF4Tensor& w) {
  int64_t out_f, in_f;
  check_linear(g, w, false, "nf4_linear_backward_input", &out_f, &in_f);
  const DType dt = compute_dtype(g);
  Shape in_shape = g.shape();
  in_shape.back() = in_f;
  const int64_t M = out_f > 0 ? g.numel() / out_f : 0;
  return lab::matmul(g.to(dt).contiguous().reshape({M, out_f}), dequantize_nf4(w).to(dt)).reshape(in_shape);
}

}  // namespace lab::quant
