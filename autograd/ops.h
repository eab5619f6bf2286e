// The differentiable ops: each computes its value with the raw op from tensor/ and records how
// to send a gradient back (autograd.h). Same names as the raw ops, in namespace lab::ag:
//   Tensor y = ag::matmul(x, w);   // records;   lab::matmul(x, w) does not
//
// Forward and backward of each op sit together in ops_<family>.cpp, with the derivative in one
// comment line. Binary ops broadcast like NumPy and sum their gradients back to each input's shape.
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

#include <vector>

namespace lab::ag {

// --- elementwise (ops_elementwise.cpp)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // tanh form, as GPT-2
Tensor silu(const Tensor& x);  // x sigmoid(x), LLaMA's MLP (SwiGLU)

// --- reductions (ops_reduce.cpp)
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// --- shapes (ops_shape.cpp): views forward, and their inverse on the gradient
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim);  // pieces of `size` (the last may be shorter)

// --- matmul (ops_matmul.cpp): batched, broadcasting batch dims, as lab::matmul
Tensor matmul(const Tensor& a, const Tensor& b);

// --- neural-network ops (ops_nn.cpp)
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// Attention's masked softmax over the last dim of scores [..., Tq, Tk] (Tk >= Tq): query i sees keys
// j <= i + Tk - Tq; masked entries are exactly 0 (lab::causal_softmax, tensor/softmax.h).
Tensor causal_softmax(const Tensor& scores);
// Mean over the rows whose target is not ignore_index. logits [N, V], targets [N] (i64).
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);  // over the last dim
Tensor embedding(const Tensor& ids, const Tensor& table);  // table [V, C], ids [...] -> [..., C]
// Zeroes each element with probability p and scales the rest by 1 / (1 - p); the identity when
// !training or p == 0. The mask is drawn from `gen` on the CPU, so a seed gives the same mask on every device.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  // mask u8, broadcast to x

}  // namespace lab::ag
