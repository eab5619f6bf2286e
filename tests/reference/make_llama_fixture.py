# Writes the LLaMA fixtures: what Hugging Face transformers' own LlamaForCausalLM computes for two tiny
# LLaMAs with grouped-query attention and rotary embeddings, saved sharded, so tests/nn/test_llama_fixture.cpp
# can check nn::Llama and load_llama against it value by value.
#
#   tests/data/reference/llama_tiny/        f32, untied lm_head, save_pretrained(max_shard_size="200KB"):
#                                           config.json, model.safetensors.index.json, model-0000N-of-0000M.safetensors
#   tests/data/reference/llama_tiny_bf16/   bf16, tie_word_embeddings (no lm_head.weight), max_shard_size="100KB"
#   tests/data/reference/llama_tiny_expected.safetensors
#       ids, targets [2, 16] i64 (a few targets -100, ignored); f32.logits [2, 16, 256], f32.loss [];
#       f32.grad.<HF name> for a few parameters; bf16.logits, bf16.loss: the bf16 model's weights upcast
#       to f32 (model.float()), as load_llama converts them; greedy.prompt [1, 4], f32.greedy / bf16.greedy:
#       the 12 tokens model.generate(do_sample=False) appends (transformers' own KV cache). Metadata:
#       versions and num_parameters of each model.
# Model: vocab 256, hidden 64, 2 layers, 4 heads, 2 kv heads (head_dim 16), intermediate 128, rope_theta
# 10000, rms_norm_eps 1e-5, context 64, eager attention, torch.manual_seed(0); the RMSNorm weights are
# perturbed by 0.1 * N(0, 1) so their loading is exercised (HF starts them at 1).
# Made with torch 2.15.0 (CPU) and transformers 4.46.3, in a virtualenv (no downloads):
#   python3 -m venv /tmp/bnbenv && /tmp/bnbenv/bin/pip install torch transformers==4.46.3
# Run from the repository root:  /tmp/bnbenv/bin/python tests/reference/make_llama_fixture.py
import os
import shutil

import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

from torch_safetensors import save_safetensors

OUT = "tests/data/reference"
B, T, NEW = 2, 16, 12
GRADS = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
         "model.layers.1.self_attn.v_proj.weight", "model.layers.1.mlp.gate_proj.weight", "model.layers.1.input_layernorm.weight",
         "model.norm.weight", "lm_head.weight"]


def make(tied, seed):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
                         tie_word_embeddings=tied, attn_implementation="eager", bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def save(model, name, dtype, shard):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    model.to(dtype).save_pretrained(path, safe_serialization=True, max_shard_size=shard)
    os.remove(os.path.join(path, "generation_config.json"))
    return path


torch.manual_seed(1234)
ids = torch.randint(0, 256, (B, T))
targets = torch.randint(0, 256, (B, T))
targets[1, :3] = -100
prompt = torch.randint(3, 256, (1, 4))
expected = {"ids": ids, "targets": targets, "greedy.prompt": prompt}
meta = {"torch": torch.__version__, "transformers": transformers.__version__}


def record(model, key, grads):
    logits = model(ids).logits.float()
    loss = F.cross_entropy(logits.reshape(-1, 256), targets.reshape(-1), ignore_index=-100)
    expected[key + ".logits"] = logits.detach()
    expected[key + ".loss"] = loss.detach().reshape(())
    if grads:
        loss.backward()
        params = dict(model.named_parameters())
        for name in GRADS:
            expected[key + ".grad." + name] = params[name].grad.detach().clone()
    with torch.no_grad():
        out = model.generate(prompt, max_new_tokens=NEW, do_sample=False, use_cache=True, pad_token_id=0,
                             eos_token_id=None, min_new_tokens=NEW)
    expected[key + ".greedy"] = out[0, prompt.shape[1]:].clone()
    meta[key + ".num_parameters"] = str(model.num_parameters())


# f32, untied, 3 shards
f32 = make(tied=False, seed=0)
save(f32, "llama_tiny", torch.float32, "200KB")
record(f32, "f32", grads=True)

# bf16, tied, 2 shards: the reference is the bf16 weights upcast to f32, as load_llama reads them
bf16 = make(tied=True, seed=1)
path = save(bf16, "llama_tiny_bf16", torch.bfloat16, "100KB")
upcast = LlamaForCausalLM.from_pretrained(path, torch_dtype=torch.bfloat16, attn_implementation="eager").float()
record(upcast, "bf16", grads=False)

save_safetensors(os.path.join(OUT, "llama_tiny_expected.safetensors"), expected, meta)
print("wrote llama_tiny, llama_tiny_bf16 and the expected values;", {k: v for k, v in meta.items()})
print("f32 loss", expected["f32.loss"].item(), "bf16 loss", expected["bf16.loss"].item())
