# Writes the PEFT fixtures: a LoRA adapter trained and saved by Hugging Face PEFT on the tiny GPT-2
# fixture, and what PEFT computes with it, so tests/nn/test_lora_io.cpp can check that loralab
# reads PEFT's files and computes the same logits.
#
#   tests/data/reference/peft_adapter/   save_pretrained: adapter_config.json, adapter_model.safetensors
#                                        (keys base_model.model.transformer.h.N.{attn.c_attn, attn.c_proj,
#                                        mlp.c_proj}.lora_{A,B}.weight); PEFT's README.md model card removed
#   tests/data/reference/peft_expected.safetensors
#       ids [2, 8] i64; logits_base (no adapter), logits (the adapter, unmerged), logits_merged
#       (merge_and_unload), logits_rslora (the same weights with use_rslora true: scaling alpha / sqrt(r))
# Adapter: LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"], lora_dropout=0) on
# data/reference/gpt2_tiny/ (make_gpt2_fixture.py); "c_proj" matches attn.c_proj and mlp.c_proj alike.
# Trained 8 AdamW steps (lr 2e-2) on next-token loss so that B moves away from its zero start.
#
# Second mode, by hand: --check-ours DIR loads an adapter folder loralab wrote (adapter_config.json,
# adapter_model.safetensors, plus loralab_logits.safetensors: ids and loralab's logits) into PEFT on
# the same base and prints the largest logits difference. The folder comes from
#   LAB_PEFT_CHECK_DIR=/tmp/ours build/release/tests/test_lora_io "*for PEFT*"
# Made with torch 2.15.0 (CPU), transformers 4.46.3 and peft 0.13.2, in a virtualenv:
#   python3 -m venv /tmp/bnbenv && /tmp/bnbenv/bin/pip install torch transformers==4.46.3 peft==0.13.2
# Run from the repository root:  /tmp/bnbenv/bin/python tests/reference/make_peft_fixture.py [--check-ours DIR]
import argparse
import json
import os
import shutil
import sys
import tempfile
import warnings

import peft
import torch
import torch.nn.functional as F
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import GPT2LMHeadModel

from torch_safetensors import save_safetensors

OUT = "tests/data/reference"
BASE = os.path.join(OUT, "gpt2_tiny")
ADAPTER = os.path.join(OUT, "peft_adapter")
LR, STEPS, B, T = 2e-2, 8, 2, 8


def base_model():
    return GPT2LMHeadModel.from_pretrained(BASE).eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model(ids).logits.detach().clone()


def write_fixture():
    torch.manual_seed(1)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"], lora_dropout=0.0, task_type="CAUSAL_LM")
    model = get_peft_model(base_model(), config)
    model.print_trainable_parameters()

    # Training data: random ids, next-token targets.
    train_ids = torch.randint(0, 256, (4, T))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    model.train()
    for step in range(STEPS):
        logits = model(train_ids).logits
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, 256), train_ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        print("step", step + 1, "loss", loss.item())
    model.eval()

    shutil.rmtree(ADAPTER, ignore_errors=True)
    model.save_pretrained(ADAPTER)
    readme = os.path.join(ADAPTER, "README.md")
    if os.path.exists(readme):
        os.remove(readme)  # the model card PEFT writes: boilerplate, not part of the adapter

    ids = torch.randint(0, 256, (B, T))
    expected = {"ids": ids, "logits_base": logits_of(base_model(), ids)}
    # From the saved files, as a user of the folder would load it.
    loaded = PeftModel.from_pretrained(base_model(), ADAPTER).eval()
    expected["logits"] = logits_of(loaded, ids)
    assert torch.equal(expected["logits"], logits_of(model, ids)), "the saved adapter computes other logits"
    expected["logits_merged"] = logits_of(loaded.merge_and_unload(), ids)

    # The same weights read as an rsLoRA adapter: only use_rslora differs in adapter_config.json.
    with tempfile.TemporaryDirectory() as tmp:
        for name in os.listdir(ADAPTER):
            shutil.copy(os.path.join(ADAPTER, name), tmp)
        path = os.path.join(tmp, "adapter_config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["use_rslora"] = True
        with open(path, "w") as f:
            json.dump(cfg, f)
        expected["logits_rslora"] = logits_of(PeftModel.from_pretrained(base_model(), tmp).eval(), ids)

    for name in ("logits", "logits_merged", "logits_rslora"):
        print(name, "differs from the base by", (expected[name] - expected["logits_base"]).abs().max().item())
    metadata = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                "r": "4", "lora_alpha": "8", "target_modules": "c_attn,c_proj", "lr": repr(LR), "steps": str(STEPS)}
    save_safetensors(os.path.join(OUT, "peft_expected.safetensors"), expected, metadata)
    print("wrote", ADAPTER, "and", os.path.join(OUT, "peft_expected.safetensors"))


def check_ours(folder):
    ours = load_file(os.path.join(folder, "loralab_logits.safetensors"))
    ids = ours["ids"].to(torch.int64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(base_model(), folder).eval()
    problems = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "not found" in str(w.message).lower()]
    for p in problems:
        print("PEFT warned:", p)
    wrapped = [n for n, m in model.named_modules() if hasattr(m, "lora_A") and "default" in m.lora_A]
    print("PEFT wrapped", len(wrapped), "modules:", ", ".join(wrapped))
    theirs = logits_of(model, ids)
    base = logits_of(base_model(), ids)
    diff = (theirs - ours["logits"]).abs().max().item()
    print("adapter's effect on PEFT's logits (max |adapter - base|):", (theirs - base).abs().max().item())
    print("max |PEFT - loralab| logits difference:", diff)
    return 0 if diff < 1e-4 and not problems else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--check-ours", metavar="DIR", help="an adapter folder loralab wrote, with loralab_logits.safetensors")
    args = parser.parse_args()
    sys.exit(check_ours(args.check_ours) if args.check_ours else write_fixture())
