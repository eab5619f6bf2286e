// Differentiable neural-network ops: softmax, log-softmax, causal softmax, cross-entropy, layer
// norm, embedding, dropout, masked_fill. The heavy forward and backward arithmetic is in tensor/
// (softmax.h, loss.h, layer_norm.h, index.h, masking.h) with a GPU kernel each; here is how they connect.
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "tensor/elementwise.h"
#include "tensor/factory.h"
#include "tensor/index.h"
#include "tensor/layer_norm.h"
#include "tensor/loss.h"
#include "tensor/masking.h"
#include "tensor/reduce.h"
#include "tensor/softmax.h"

namespace lab::ag {

using Grads = std::vector<Tensor>;

// y = softmax(x):  dx = y * (g - sum_dim(g * y))
Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = lab::softmax(x, dim);
  return record("softmax", y, {x}, [y = detach(y), dim](const Tensor& g) {
    Tensor gy_sum = lab::sum(lab::mul(g, y), {dim}, true);
    return Grads{lab::mul(y, lab::sub(g, gy_sum))};
  });
}

// y = log_softmax(x):  dx = g - softmax(x) * sum_dim(g) = g - exp(y) * sum_dim(g)
Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = lab::log_softmax(x, dim);
  return record("log_softmax", y, {x}, [y = detach(y), dim](const Tensor& g) {
    return Grads{lab::sub(g, lab::mul(lab::exp(y), lab::sum(g, {dim}, true)))};
  });
}

// y = causal_softmax(x):  dx = y * (g - sum_{visible j} g_j y_j), 0 where masked (tensor/softmax.h)
Tensor causal_softmax(const Tensor& scores) {
  Tensor y = lab::causal_softmax(scores);
  return record("causal_softmax", y, {scores}, [y = detach(y)](const Tensor& g) {
    return Grads{causal_softmax_backward(y, g)};
  });
}

// L = mean over counted rows of (logsumexp(z_r) - z_r[t_r]):  dz = g * (softmax(z) - onehot(t)) / n
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  CrossEntropyForward f = cross_entropy_forward(logits, targets, ignore_index);
  return record("cross_entropy", f.loss, {logits}, [z = detach(logits), targets, ignore_index, n = f.count](const Tensor& g) {
    // g is the scalar gradient of the loss; fold it and 1/n into one scale.
    double scale = g.item<double>() / double(n);
    return Grads{cross_entropy_backward(z, targets, ignore_index, scale)};
  });
}

// y = (x - mean) * rstd * w + b over the last dim:  dx, dw, db from layer_norm_backward (layer_norm.h)
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  LayerNormForward f = layer_norm_forward(x, weight, bias, eps);
  return record("layer_norm", f.y, {x, weight, bias},
                [x = detach(x), w = detach(weight), has_bias = bias.defined(), mean = f.mean, rstd = f.rstd](const Tensor& g) {
                  LayerNormBackward b = layer_norm_backward(g, x, mean, rstd, w, has_bias);
                  return Grads{b.dx, b.dweight, b.dbias};
                });
}

// y[i] = table[ids[i]]:  dtable[v] = sum of g[i] over the i with ids[i] = v
Tensor embedding(const Tensor& ids, const Tensor& table) {
  return record("embedding", index_select_rows(table, ids), {table}, [ids, rows = table.size(0)](const Tensor& g) {
    return Grads{index_add_rows(g, ids, rows)};
  });
}

// y = x * m / (1 - p), m ~ Bernoulli(1 - p):  dx = g * m / (1 - p)
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  LAB_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got {}", p);
  if (!training || p == 0) return x;
  // The mask holds 0 or 1/(1-p), drawn on the CPU in row-major order, then moved to x's device.
  const double keep_scale = 1.0 / (1.0 - p);
  Tensor mask = rand(x.shape(), gen, DType::f64);
  double* m = mask.data<double>();
  for (int64_t i = 0; i < mask.numel(); i++) m[i] = m[i] < p ? 0.0 : keep_scale;
  mask = mask.to(x.dtype()).to(x.device());
  return record("dropout", lab::mul(x, mask), {x}, [mask](const Tensor& g) { return Grads{lab::mul(g, mask)}; });
}

// y = mask ? v : x:  dx = mask ? 0 : g
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  return record("masked_fill", lab::masked_fill(x, mask, value), {x}, [mask](const Tensor& g) {
    return Grads{lab::masked_fill(g, mask, 0.0)};
  });
}

}  // namespace lab::ag
