#!/usr/bin/python3
# Writes tests/data/reference/mlp_adamw.safetensors: what PyTorch computes for a 2-layer MLP with
# GELU and LayerNorm, so tests/nn/test_torch_fixture.cpp can check ours against it, value by value.
#
#   logits = fc2(layer_norm(gelu_tanh(fc1(input))))      loss = cross_entropy(logits, target)
#
# Stored: the initial weights (fc1.weight, ..., PyTorch's names and [out, in] layout), the input and
# target, the loss, every parameter's gradient (grad.<name>), and the parameters after 5 AdamW
# steps on the same batch (step5.<name>), with the hyper-parameters in the metadata.
# Uses Debian's python3-torch (1.13) and writes safetensors by hand (Debian has no safetensors
# package; the format is 8 bytes of header length, JSON, raw little-endian data).
# Run from the repository root:  /usr/bin/python3 tests/reference/make_mlp_fixture.py

import torch
from torch_safetensors import save_safetensors
import torch.nn.functional as F

OUT = "tests/data/reference/mlp_adamw.safetensors"
B, IN, HIDDEN, OUT_FEATURES = 8, 6, 16, 5
LR, BETAS, EPS, WEIGHT_DECAY, STEPS = 1e-2, (0.9, 0.999), 1e-8, 0.1, 5


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(IN, HIDDEN)
        self.ln = torch.nn.LayerNorm(HIDDEN)
        self.fc2 = torch.nn.Linear(HIDDEN, OUT_FEATURES)

    def forward(self, x):
        return self.fc2(self.ln(F.gelu(self.fc1(x), approximate="tanh")))


torch.manual_seed(0)
model = MLP()
with torch.no_grad():  # LayerNorm starts at ones/zeros; perturb it so its gradients are exercised
    model.ln.weight.add_(0.1 * torch.randn(HIDDEN))
    model.ln.bias.add_(0.1 * torch.randn(HIDDEN))
x = torch.randn(B, IN)
target = torch.randint(0, OUT_FEATURES, (B,))
tensors = {name: p.detach().clone() for name, p in model.named_parameters()}
tensors["input"], tensors["target"] = x, target

loss = F.cross_entropy(model(x), target)
loss.backward()
tensors["loss"] = loss.detach().reshape(())
for name, p in model.named_parameters():
    tensors["grad." + name] = p.grad.detach().clone()

opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
for _ in range(STEPS):  # the first step reuses the gradients above
    opt.step()
    opt.zero_grad()
    F.cross_entropy(model(x), target).backward()
for name, p in model.named_parameters():
    tensors["step%d.%s" % (STEPS, name)] = p.detach().clone()

metadata = {"torch": torch.__version__, "lr": repr(LR), "beta1": repr(BETAS[0]), "beta2": repr(BETAS[1]), "eps": repr(EPS),
            "weight_decay": repr(WEIGHT_DECAY), "steps": str(STEPS), "layer_norm_eps": "1e-05"}
save_safetensors(OUT, tensors, metadata)
print("wrote", OUT, "loss", float(loss))
