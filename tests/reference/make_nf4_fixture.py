#!/usr/bin/env python3
# Writes tests/data/reference/nf4_bnb.safetensors: what bitsandbytes itself (0.50, CPU) computes for
# NF4, for tests/quant/test_nf4_bnb.cpp. Per case p: p.input, p.weight + p.weight.* (QuantState.as_dict
# (packed=True) under transformers' Linear4bit names), odd.dequant, dq.absmax_decoded, dynamic_map.
# plain: [96, 192] at block 64 with an all-zero block and a block of exact midpoints; dq: the same,
# double quantized (2 second-level blocks); odd: 1001 values (a partial block, a padded nibble).
# On the CPU, quantize_4bit is bitsandbytes' pure-PyTorch backend and the second level its C++
# quantize_blockwise (see the test for where they round differently from the CUDA kernels).
# Run from the repository root (PyPI packages in a virtual environment):
#   python3 -m venv /tmp/bnbenv && /tmp/bnbenv/bin/pip install bitsandbytes torch && /tmp/bnbenv/bin/python tests/reference/make_nf4_fixture.py

import bitsandbytes
import bitsandbytes.functional as F
import torch
from torch_safetensors import save_safetensors

OUT = "tests/data/reference/nf4_bnb.safetensors"
BLOCK = 64


def quantize(prefix, x, compress_statistics, tensors, keep_input=True, keep_dequant=False):
    packed, state = F.quantize_4bit(x, blocksize=BLOCK, quant_type="nf4", compress_statistics=compress_statistics)
    if keep_input:
        tensors[prefix + ".input"] = x
    tensors[prefix + ".weight"] = packed
    for key, value in state.as_dict(packed=True).items():
        tensors[prefix + ".weight." + key] = value
    if compress_statistics:
        tensors[prefix + ".absmax_decoded"] = F.dequantize_blockwise(state.absmax, state.state2) + state.offset
    if keep_dequant:
        tensors[prefix + ".dequant"] = F.dequantize_4bit(packed, state)


torch.manual_seed(0)
w = 0.05 * torch.randn(96, 192)
w.view(-1)[15 * BLOCK:16 * BLOCK] = 0.0                  # block 15: all zeros
code = F.get_4bit_type("nf4", device="cpu")
midpoints = (code[:-1] + code[1:]) / 2                  # bitsandbytes' own float32 midpoints
tie = w.view(-1)[20 * BLOCK:21 * BLOCK]                 # block 20: absmax 1.0, then every midpoint
tie[0] = 1.0
tie[1:16] = midpoints
tie[16:31] = -midpoints.flip(0)

tensors = {}
quantize("plain", w, False, tensors)
quantize("dq", w, True, tensors, keep_input=False)  # the same weight: plain.input
quantize("odd", torch.randn(1001), False, tensors, keep_dequant=True)
tensors["dynamic_map"] = F.create_dynamic_map(signed=True)

metadata = {"torch": torch.__version__, "bitsandbytes": bitsandbytes.__version__, "blocksize": str(BLOCK),
            "note": "bitsandbytes CPU: default-backend quantize_4bit, CPU-library quantize_blockwise for the nested absmax"}
save_safetensors(OUT, tensors, metadata)
print("wrote", OUT, "with", len(tensors), "tensors")
