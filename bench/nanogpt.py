"""nanogpt.py: the benchmarks' PyTorch peer at its fastest: a GPT-2 written the way nanoGPT
writes one (nn.Linear layers with a fused qkv, F.gelu(approximate="tanh"), a tied lm_head,
one causal mask buffer, F.cross_entropy), run in FP32 or under bf16 autocast. For speed
only: tests/ref/gpt2_ref.py stays the reference for correctness.
Use: model = nanogpt.GPT(cfg) | nanogpt.load_hf_dir(DIR); model(idx, targets) -> (logits, loss);
nanogpt.autocast(dtype) is the context for "fp32" (nothing) or "bf16"."""
import contextlib
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, n_ctx):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.register_buffer("mask", torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool)).view(1, 1, n_ctx, n_ctx),
                             persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        hs = C // self.n_head
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, n_ctx):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = SelfAttention(n_embd, n_head, n_ctx)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.mlp_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, L = cfg["n_embd"], cfg["n_layer"]
        self.wte = nn.Embedding(cfg["vocab_size"], C)
        self.wpe = nn.Embedding(cfg["n_ctx"], C)
        self.h = nn.ModuleList([Block(C, cfg["n_head"], cfg["n_ctx"]) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        for name, p in self.named_parameters():  # GPT-2's init: residual projections scaled
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for block in self.h:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)  # tied lm_head
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


GPT2_124M = {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_ctx": 1024, "vocab_size": 50257}


def autocast(dtype):
    """fp32: no context; bf16: CPU autocast to bfloat16 (weights, grads and AdamW stay FP32)."""
    if dtype == "bf16":
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def load_hf_dir(d):
    """A Hugging Face GPT-2 folder (config.json, model.safetensors in Conv1D layout)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
    import gpt2_ref  # the safetensors reader only
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    cfg = {"n_layer": c["n_layer"], "n_head": c["n_head"], "n_embd": c["n_embd"],
           "n_ctx": c.get("n_positions", c.get("n_ctx")), "vocab_size": c["vocab_size"]}
    model = GPT(cfg)
    t = {k.removeprefix("transformer."): v for k, v in gpt2_ref.load_safetensors(os.path.join(d, "model.safetensors")).items()}
    ren = {"attn.c_attn": "attn.c_attn", "attn.c_proj": "attn.c_proj", "mlp.c_fc": "c_fc", "mlp.c_proj": "mlp_proj"}
    with torch.no_grad():
        model.wte.weight.copy_(t["wte.weight"])
        model.wpe.weight.copy_(t["wpe.weight"])
        model.ln_f.weight.copy_(t["ln_f.weight"]); model.ln_f.bias.copy_(t["ln_f.bias"])
        for i, blk in enumerate(model.h):
            for ln in ("ln_1", "ln_2"):
                getattr(blk, ln).weight.copy_(t[f"h.{i}.{ln}.weight"]); getattr(blk, ln).bias.copy_(t[f"h.{i}.{ln}.bias"])
            for hf, ours in ren.items():
                lin = blk.get_submodule(ours)
                lin.weight.copy_(t[f"h.{i}.{hf}.weight"].t())  # Conv1D (in, out) -> Linear (out, in)
                lin.bias.copy_(t[f"h.{i}.{hf}.bias"])
    return model
