// Differentiable matmul, with torch.matmul's rules for vectors and broadcast batch dims.
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "tensor/matmul.h"

namespace lab::ag {

using Grads = std::vector<Tensor>;

// C = A B:  dA = dC B^T,  dB = A^T dC   (summed over the batch dims A or B was broadcast along)
// An operand that needs no gradient (a frozen weight under LoRA, a constant) gets none: its product
// is skipped, so a frozen layer's backward is one matmul (to its input), not two.
Tensor matmul(const Tensor& a, const Tensor& b) {
  const bool need_a = requires_grad(a), need_b = requires_grad(b);
  return record("matmul", lab::matmul(a, b), {a, b}, [a = detach(a), b = detach(b), need_a, need_b](const Tensor& g) {
    // Work with matrices: a vector is a 1-row (left) or 1-column (right) matrix, as in forward.
    Tensor am = a.dim() == 1 ? a.unsqueeze(0) : a;
    Tensor bm = b.dim() == 1 ? b.unsqueeze(1) : b;
    Tensor gm = g;
    if (a.dim() == 1) gm = gm.unsqueeze(-2);
    if (b.dim() == 1) gm = gm.unsqueeze(-1);
    Tensor da, db;
    if (need_a) da = sum_to(lab::matmul(gm, bm.transpose(-1, -2)), am.shape()).reshape(a.shape());
    if (!need_b) return Grads{da, db};
    if (bm.dim() == 2 && am.dim() > 2 && am.numel() > 0) {
      // B is shared by the whole batch (nn::Linear's x W^T): dB = sum_b A_b^T dC_b is one product
      // over the flattened batch, [K, B*M] @ [B*M, N], instead of B products and a sum over them.
      Tensor af = am.reshape({-1, am.size(-1)}), gf = gm.reshape({-1, gm.size(-1)});
      db = lab::matmul(af.transpose(0, 1), gf);
    } else {
      db = lab::matmul(am.transpose(-1, -2), gm);
    }
    db = sum_to(db, bm.shape()).reshape(b.shape());
    return Grads{da, db};
  });
}

}  // namespace lab::ag
