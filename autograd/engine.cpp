// The backward pass and the bookkeeping of autograd.h: leaves, recording, topological order.
#include "autograd/autograd.h"

#include "tensor/elementwise.h"
#include "tensor/factory.h"
#include "tensor/reduce.h"

#include <unordered_map>
#include <unordered_set>

namespace lab::ag {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

const Tensor& set_requires_grad(const Tensor& t, bool on, const std::string& name) {
  LAB_CHECK(t.defined(), "set_requires_grad: undefined tensor");
  LAB_CHECK(!on || is_floating(t.dtype()), "only floating-point tensors can require grad; '{}' is {}", name, dtype_name(t.dtype()));
  auto meta = t.autograd_meta();
  LAB_CHECK(!meta || !meta->grad_fn, "set_requires_grad: '{}' was made by {}, so it is not a leaf (HINT: ag::detach() it first)",
            name_of(t), meta ? meta->grad_fn->op : "");
  if (!meta) {
    meta = std::make_shared<AutogradMeta>();
    const_cast<Tensor&>(t).set_autograd_meta(meta);
  }
  meta->requires_grad = on;
  if (!name.empty()) meta->name = name;
  return t;
}

bool requires_grad(const Tensor& t) { return t.defined() && t.autograd_meta() && t.autograd_meta()->requires_grad; }

Tensor grad(const Tensor& t) { return t.defined() && t.autograd_meta() ? t.autograd_meta()->grad : Tensor(); }

void zero_grad(const Tensor& t) {
  if (t.defined() && t.autograd_meta()) t.autograd_meta()->grad = Tensor();
}

void set_grad(const Tensor& t, const Tensor& g) {
  LAB_CHECK(t.defined() && t.autograd_meta(), "set_grad: '{}' does not require grad", name_of(t));
  LAB_CHECK(!g.defined() || g.shape() == t.shape(), "set_grad: gradient of shape {} for '{}' of shape {}", shape_str(g.shape()),
            name_of(t), shape_str(t.shape()));
  t.autograd_meta()->grad = g;
}

std::string name_of(const Tensor& t) {
  if (!t.defined() || !t.autograd_meta()) return "a tensor";
  const auto& meta = t.autograd_meta();
  if (!meta->name.empty()) return meta->name;
  if (meta->grad_fn) return "the output of " + meta->grad_fn->op;
  return "a leaf tensor";
}

Tensor detach(const Tensor& t) {
  Tensor d = t;
  d.set_autograd_meta(nullptr);
  return d;
}

Tensor record(const char* op, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!g_grad_enabled) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || requires_grad(t);
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->op = op;
  for (const Tensor& t : inputs) {
    node->inputs.push_back(requires_grad(t) ? t.autograd_meta() : nullptr);
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  node->backward = std::move(backward);
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::move(node);
  out.set_autograd_meta(std::move(meta));
  return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - int64_t(shape.size());
  LAB_ASSERT(lead >= 0);
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); d++)
    if (d < lead || (shape[d - lead] == 1 && grad.size(d) != 1)) dims.push_back(d);
  return lab::sum(grad, dims, true).reshape(shape);
}

// Every tensor's metadata reachable from the root, children before parents (iterative DFS, so a
// graph thousands of ops deep cannot overflow the stack). Owning pointers: freeing a node's edges
// during the pass must not free a metadata that is still to be visited.
static std::vector<std::shared_ptr<AutogradMeta>> topological_order(const std::shared_ptr<AutogradMeta>& root) {
  std::vector<std::shared_ptr<AutogradMeta>> order;
  std::unordered_set<AutogradMeta*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<AutogradMeta>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [meta, next] = stack.back();
    const Node* node = meta->grad_fn.get();
    if (node && next < node->inputs.size()) {
      std::shared_ptr<AutogradMeta> child = node->inputs[next++];
      if (child && seen.insert(child.get()).second) stack.push_back({std::move(child), 0});
      continue;
    }
    order.push_back(std::move(meta));
    stack.pop_back();
  }
  return order;
}

void backward(const Tensor& root, const Tensor& seed, bool retain_graph) {
  LAB_CHECK(requires_grad(root),
            "backward: {} does not require grad, so there is nothing to differentiate (HINT: set_requires_grad on the parameters, "
            "and compute the loss outside a NoGradGuard)",
            name_of(root));
  Tensor g = seed;
  if (!g.defined()) {
    LAB_CHECK(root.numel() == 1, "backward: {} has shape {}; a non-scalar needs an explicit seed gradient of that shape", name_of(root),
              shape_str(root.shape()));
    g = ones(root.shape(), root.dtype(), root.device());
  }
  LAB_CHECK(g.shape() == root.shape() && g.dtype() == root.dtype() && g.device() == root.device(),
            "backward: the seed gradient ({} {} on {}) must match the root ({} {} on {})", shape_str(g.shape()), dtype_name(g.dtype()),
            g.device().str(), shape_str(root.shape()), dtype_name(root.dtype()), root.device().str());

  NoGradGuard no_grad;  // backward functions use raw ops, but be explicit: nothing records now
  std::vector<std::shared_ptr<AutogradMeta>> order = topological_order(root.autograd_meta());
  std::unordered_map<AutogradMeta*, Tensor> grads{{root.autograd_meta().get(), g}};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    AutogradMeta* meta = it->get();
    auto found = grads.find(meta);
    if (found == grads.end()) continue;  // nothing flowed here
    Tensor grad_out = std::move(found->second);
    grads.erase(found);
    if (!meta->grad_fn) {
      // A leaf: accumulate. The first gradient is copied, since it may alias another tensor's.
      meta->grad = meta->grad.defined() ? add(meta->grad, grad_out) : grad_out.clone();
      continue;
    }
    Node& node = *meta->grad_fn;
    LAB_CHECK(node.backward, "backward: the graph through {} was already freed by an earlier backward() (HINT: pass retain_graph = true "
                             "to the first call if you need to go through it twice)",
              node.op);
    std::vector<Tensor> input_grads = node.backward(grad_out);
    LAB_ASSERT(input_grads.size() == node.inputs.size());
    for (size_t i = 0; i < node.inputs.size(); i++) {
      AutogradMeta* in = node.inputs[i].get();
      if (!in || !input_grads[i].defined()) continue;
      LAB_CHECK(input_grads[i].shape() == node.input_shapes[i], "internal error in {}'s backward: gradient of shape {} for an input of shape {}",
                node.op, shape_str(input_grads[i].shape()), shape_str(node.input_shapes[i]));
      auto [slot, fresh] = grads.try_emplace(in, input_grads[i]);
      if (!fresh) slot->second = add(slot->second, input_grads[i]);
    }
    if (!retain_graph) {
      node.backward = nullptr;  // frees every tensor the node saved
      node.inputs.clear();      // and the edges, so a long chain is not destroyed recursively later
    }
  }
}

}  // namespace lab::ag
