"""Tokens/s of one training step of lesson 04's tiny GPT in PyTorch on the CPU: the yardstick for
bench/bench_gpt_train.cpp. Same model (GPT-2: 4 layers, 4 heads, n_embd 128, context 128, vocab 256,
tied LM head, tanh GELU, dropout 0), same step (forward, mean cross-entropy, backward, AdamW with
PyTorch's defaults), same batch (16 x 128 random tokens), f32, the same thread count.

The model is written from torch.nn primitives (no transformers needed, so it runs on Debian's
torch 1.13 as well as torch 2.x); --hf builds transformers' GPT2LMHeadModel instead.
Not here: training to a loss (lesson 04 does that).

Run: python3 bench/pytorch/gpt_train_throughput.py [--threads 2] [--steps 20] [--hf]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V, P, C, L, H = 256, 128, 128, 4, 4  # vocab, context, n_embd, n_layer, n_head
B, T = 16, 128


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def attn(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        # the same arithmetic as ours: scores, causal mask, softmax, weighted sum (no fused SDPA)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(b, t, c))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))  # torch >= 1.12


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(P, C)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, ids, targets):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied LM head
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))


def hf_model():
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(vocab_size=V, n_positions=P, n_embd=C, n_layer=L, n_head=H, activation_function="gelu_new",
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(cfg)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, ids, targets):
            return self.m(input_ids=ids, labels=targets).loss  # (shifts labels by one: same cost)
    return Wrap()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--hf", action="store_true", help="transformers' GPT2LMHeadModel instead of the torch.nn model")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = hf_model() if a.hf else GPT()
    model.train()
    opt = torch.optim.AdamW(model.parameters())
    ids = torch.randint(0, V, (B, T))
    targets = torch.randint(0, V, (B, T))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(ids, targets)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    times, cpu = [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times.sort()
    median = times[len(times) // 2]
    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__} model={'hf' if a.hf else 'torch.nn'} params={params} threads={torch.get_num_threads()} "
          f"batch={B}x{T} steps={a.steps}")
    print(f"step median {median * 1e3:.1f} ms (best {times[0] * 1e3:.1f} ms): tokens/s median {B * T / median:.0f} best {B * T / times[0]:.0f}")
    # CPU time of all threads: on a machine shared with other work, the wall clock includes waiting
    # for a core; per-step CPU time does not (with 1 thread, CPU time / step is the step's own cost).
    print(f"cpu time per step {sum(cpu) / len(cpu) * 1e3:.1f} ms (all threads)")


if __name__ == "__main__":
    main()
