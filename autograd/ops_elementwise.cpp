// Differentiable elementwise ops: forward with tensor/elementwise.h, backward beside it.
// Outputs that backward needs are captured as `detach(out)` copies, so a node never owns itself.
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "tensor/elementwise.h"

namespace lab::ag {

using Grads = std::vector<Tensor>;

// y = a + b:  da = g,  db = g   (summed back over broadcast dims)
Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", lab::add(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(g, sb)};
  });
}

// y = a - b:  da = g,  db = -g
Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", lab::sub(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(lab::neg(g), sb)};
  });
}

// y = a * b:  da = g * b,  db = g * a
Tensor mul(const Tensor& a, const Tensor& b) {
  return record("mul", lab::mul(a, b), {a, b}, [a = detach(a), b = detach(b)](const Tensor& g) {
    return Grads{sum_to(lab::mul(g, b), a.shape()), sum_to(lab::mul(g, a), b.shape())};
  });
}

// y = a / b:  da = g / b,  db = -g * a / b^2 = -g * y / b
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = lab::div(a, b);
  return record("div", y, {a, b}, [sa = a.shape(), b = detach(b), y = detach(y)](const Tensor& g) {
    Tensor ga = lab::div(g, b);
    return Grads{sum_to(ga, sa), sum_to(lab::neg(lab::mul(ga, y)), b.shape())};
  });
}

// y = a + s:  da = g
Tensor add(const Tensor& a, double s) {
  return record("add", lab::add(a, s), {a}, [](const Tensor& g) { return Grads{g}; });
}

// y = a * s:  da = s g
Tensor mul(const Tensor& a, double s) {
  return record("mul", lab::mul(a, s), {a}, [s](const Tensor& g) { return Grads{lab::mul(g, s)}; });
}

// y = -x:  dx = -g
Tensor neg(const Tensor& x) {
  return record("neg", lab::neg(x), {x}, [](const Tensor& g) { return Grads{lab::neg(g)}; });
}

// y = x^p:  dx = g * p * x^(p-1)
Tensor pow(const Tensor& x, double p) {
  return record("pow", lab::pow(x, p), {x}, [x = detach(x), p](const Tensor& g) {
    return Grads{lab::mul(g, lab::mul(lab::pow(x, p - 1), p))};
  });
}

// y = e^x:  dx = g * y
Tensor exp(const Tensor& x) {
  Tensor y = lab::exp(x);
  return record("exp", y, {x}, [y = detach(y)](const Tensor& g) { return Grads{lab::mul(g, y)}; });
}

// y = ln x:  dx = g / x
Tensor log(const Tensor& x) {
  return record("log", lab::log(x), {x}, [x = detach(x)](const Tensor& g) { return Grads{lab::div(g, x)}; });
}

// y = sqrt(x):  dx = g / (2 y)
Tensor sqrt(const Tensor& x) {
  Tensor y = lab::sqrt(x);
  return record("sqrt", y, {x}, [y = detach(y)](const Tensor& g) { return Grads{lab::div(g, lab::mul(y, 2.0))}; });
}

// y = tanh(x):  dx = g * (1 - y^2)
Tensor tanh(const Tensor& x) {
  Tensor y = lab::tanh(x);
  return record("tanh", y, {x}, [y = detach(y)](const Tensor& g) {
    return Grads{lab::mul(g, lab::add(lab::neg(lab::mul(y, y)), 1.0))};
  });
}

// y = max(x, 0):  dx = g * [x > 0]
Tensor relu(const Tensor& x) {
  return record("relu", lab::relu(x), {x}, [x = detach(x)](const Tensor& g) { return Grads{lab::mul(g, lab::relu_grad(x))}; });
}

// y = gelu(x):  dx = g * gelu'(x)   (the derivative of the tanh form: cuda/elementwise_ops.h)
Tensor gelu(const Tensor& x) {
  return record("gelu", lab::gelu(x), {x}, [x = detach(x)](const Tensor& g) { return Grads{lab::mul(g, lab::gelu_grad(x))}; });
}

// y = silu(x) = x s, s = sigmoid(x):  dx = g s (1 + x (1 - s))
Tensor silu(const Tensor& x) {
  Tensor s = lab::sigmoid(x);
  return record("silu", lab::mul(x, s), {x}, [x = detach(x), s](const Tensor& g) {
    return Grads{lab::mul(g, lab::mul(s, lab::add(lab::mul(x, lab::add(lab::neg(s), 1.0)), 1.0)))};
  });
}

}  // namespace lab::ag
