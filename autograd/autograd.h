// Reverse-mode automatic differentiation: the graph a computation leaves behind, and the pass
// that walks it backwards. (micrograd's engine.py, for tensors.)
//
// A tensor that requires grad carries an AutogradMeta (tensor/ only holds the pointer). Every
// differentiable op (ops.h) computes its result with the raw op from tensor/ and, when any input
// requires grad, records a Node: which inputs it came from, and a function that turns the
// gradient of its output into gradients of its inputs. backward() sorts the nodes topologically
// from the loss, calls each node's function once, and sums (accumulates) gradients into the
// leaves' .grad; the saved tensors are freed after that unless retain_graph is asked for.
//
// Not here: the ops themselves (ops_*.cpp), gradient checking (gradcheck.h), higher-order
// gradients (backward functions use raw ops, so they record nothing).
#pragma once

#include "tensor/tensor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lab {

struct Node;

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                    // the accumulated gradient of a leaf (undefined until backward)
  std::shared_ptr<Node> grad_fn;  // the op that made this tensor; null for a leaf
  std::string name;               // optional, for messages: "h.0.attn.c_attn.weight"
};

// dL/d(inputs) from dL/d(output); an undefined Tensor where an input needs no gradient.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string op;                                     // "matmul", for messages
  std::vector<std::shared_ptr<AutogradMeta>> inputs;  // null where the input does not require grad
  std::vector<Shape> input_shapes;                    // each returned gradient must have this shape
  BackwardFn backward;                                // reset to null once run (the graph is freed)
};

namespace ag {

// --- leaves and their gradients
// Marks t as a leaf that requires grad (creating its metadata). Do this before copying t around:
// copies made earlier do not see the flag, copies made later share it (and its .grad).
const Tensor& set_requires_grad(const Tensor& t, bool requires_grad = true, const std::string& name = "");
bool requires_grad(const Tensor& t);
Tensor grad(const Tensor& t);   // undefined until a backward pass reached t
void zero_grad(const Tensor& t);  // drop the accumulated gradient (as PyTorch's set_to_none)
void set_grad(const Tensor& t, const Tensor& g);  // replace it (optimizers' gradient clipping, loading)
std::string name_of(const Tensor& t);  // the leaf's name, or the op that made it, or "a tensor"
Tensor detach(const Tensor& t);  // the same storage, outside the graph

// --- the backward pass
// Seeds d(root)/d(root) with `seed` (default: 1 for a one-element root), walks the graph and
// accumulates into every leaf's grad. A second backward through a freed graph is an error unless
// the first was given retain_graph = true.
void backward(const Tensor& root, const Tensor& seed = Tensor(), bool retain_graph = false);

// --- recording
bool grad_enabled();
// While one lives, ops record nothing (evaluation, optimizer updates).
class NoGradGuard {
public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
  bool previous_;
};

// Used by every op in ops_*.cpp: attach a Node to `out` when grad is enabled and any input
// requires grad; return `out` either way. Capture what backward needs *before* calling this
// (a capture of `out` itself must be a copy without metadata, or the node would own itself).
Tensor record(const char* op, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward);

// Sum a broadcast gradient back to the shape of the input it came from: over leading dims that
// the input did not have, and over dims where the input had size 1.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace ag
}  // namespace lab
