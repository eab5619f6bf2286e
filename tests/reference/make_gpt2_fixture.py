# Writes the GPT-2 fixtures: what Hugging Face transformers' own GPT2LMHeadModel computes for a tiny
# GPT-2, so tests/nn/test_gpt_fixture.cpp can check nn::GPT against it value by value.
#
#   tests/data/reference/gpt2_tiny/       save_pretrained(safe_serialization=True): config.json,
#                                         model.safetensors ("transformer." keys, Conv1D [in, out]), generation_config.json
#   tests/data/reference/gpt2_tiny_hub/   the same weights in the layout of the hub's openai-community/gpt2
#                                         model.safetensors: no prefix, plus h.N.attn.bias [1, 1, 16, 16] f32
#                                         lower-triangular causal-mask buffers; the same config.json
#   tests/data/reference/gpt2_tiny_expected.safetensors
#       ids, targets [2, 16] i64 (a few targets -100, ignored); logits [2, 16, 256]; loss [];
#       grad.<HF name> for every parameter (transformer.wte.weight's includes the tied LM head's part);
#       adamw.loss1..3: the loss after each of 3 torch.optim.AdamW steps (lr 1e-2, betas (0.9, 0.999),
#       eps 1e-8, weight_decay 0.1 on EVERY parameter, biases and LayerNorms included, one group);
#       step3.<HF name>: every parameter after the 3 steps. Metadata: versions, hyper-parameters,
#       num_parameters (HF's count, the tied head counted once).
# Model: vocab 256, n_positions 16, n_embd 32, 2 layers, 2 heads, all dropouts 0, eager attention,
# torch.manual_seed(0); biases and LayerNorms are perturbed by 0.1 * N(0, 1) so their gradients and
# their loading are exercised (HF starts them at 0 and 1).
# Made with torch 2.15.0 (CPU) and transformers 4.46.3, in a virtualenv:
#   python3 -m venv /tmp/bnbenv && /tmp/bnbenv/bin/pip install torch transformers==4.46.3
# Run from the repository root:  /tmp/bnbenv/bin/python tests/reference/make_gpt2_fixture.py
import os
import shutil

import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

from torch_safetensors import save_safetensors

OUT = "tests/data/reference"
LR, BETAS, EPS, WEIGHT_DECAY, STEPS = 1e-2, (0.9, 0.999), 1e-8, 0.1, 3
B, T = 2, 16

torch.manual_seed(0)
config = GPT2Config(vocab_size=256, n_positions=16, n_embd=32, n_layer=2, n_head=2, attn_implementation="eager",
                    embd_pdrop=0.0, attn_pdrop=0.0, resid_pdrop=0.0)
model = GPT2LMHeadModel(config)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith(".bias") or ".ln_" in name:
            p.add_(0.1 * torch.randn_like(p))
params = dict(model.named_parameters())  # HF's names; lm_head.weight is transformer.wte.weight, listed once

tiny = os.path.join(OUT, "gpt2_tiny")
shutil.rmtree(tiny, ignore_errors=True)
model.save_pretrained(tiny, safe_serialization=True)

# The hub's layout: keys without "transformer.", and each block's causal mask as a float buffer.
hub = os.path.join(OUT, "gpt2_tiny_hub")
os.makedirs(hub, exist_ok=True)
shutil.copy(os.path.join(tiny, "config.json"), os.path.join(hub, "config.json"))
hub_tensors = {}
for name, p in params.items():
    key = name[len("transformer."):]
    hub_tensors[key] = p.detach()
    if key.endswith("ln_1.weight"):  # the buffer sits with its block, as the hub file lists it
        hub_tensors[key.replace("ln_1.weight", "attn.bias")] = torch.tril(torch.ones(16, 16)).view(1, 1, 16, 16)
save_safetensors(os.path.join(hub, "model.safetensors"), hub_tensors, {"format": "pt"})

ids = torch.randint(0, config.vocab_size, (B, T))
targets = torch.randint(0, config.vocab_size, (B, T))
targets[1, :3] = -100


def loss_of(m):
    logits = m(ids).logits
    return logits, F.cross_entropy(logits.reshape(-1, config.vocab_size), targets.reshape(-1), ignore_index=-100)


expected = {"ids": ids, "targets": targets}
logits, loss = loss_of(model)
loss.backward()
expected["logits"] = logits.detach()
expected["loss"] = loss.detach().reshape(())
for name, p in params.items():
    expected["grad." + name] = p.grad.detach().clone()

opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
for s in range(1, STEPS + 1):  # the first step uses the gradients above
    opt.step()
    opt.zero_grad()
    _, loss_s = loss_of(model)
    loss_s.backward()
    expected["adamw.loss%d" % s] = loss_s.detach().reshape(())
for name, p in params.items():
    expected["step%d.%s" % (STEPS, name)] = p.detach().clone()

metadata = {"torch": torch.__version__, "transformers": transformers.__version__, "lr": repr(LR), "beta1": repr(BETAS[0]),
            "beta2": repr(BETAS[1]), "eps": repr(EPS), "weight_decay": repr(WEIGHT_DECAY), "steps": str(STEPS),
            "num_parameters": str(model.num_parameters())}
save_safetensors(os.path.join(OUT, "gpt2_tiny_expected.safetensors"), expected, metadata)
print("wrote", tiny, hub, "and the expected values; loss", loss.item(), "num_parameters", model.num_parameters())
