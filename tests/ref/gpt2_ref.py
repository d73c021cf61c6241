"""gpt2_ref.py: an independent GPT-2 in PyTorch, equal to Hugging Face's GPT2LMHeadModel math
(pre-LN blocks, fused c_attn in Conv1D [in, out] layout, gelu tanh approximation "gelu_new",
causal mask, tied lm_head), plus a minimal safetensors reader/writer. It is the reference the
C engine is tested against: it must never import palimpsest's outputs or share its code.

API (importable from other scripts, e.g. `sys.path.insert(0, "tests/ref")`):
  cfg = config_from_dict({"n_layer":2, "n_head":4, "n_embd":24, "n_ctx":32, "vocab_size":97})
  model = GPT2(cfg)                          # random init: init_gpt2_(model, seed)
  logits, loss = model(ids, targets)         # ids (B,T) long; loss = mean CE or None
  sd = model.hf_state_dict()                 # HF names without "transformer.", Conv1D layout
  model.load_hf_state_dict(sd)               # accepts "transformer." prefix, ignores buffers
  model = load_model_dir(DIR); save_model_dir(model, DIR)
  ids = model.generate_greedy(prompt_ids, n_new)
  save_safetensors(path, {name: tensor}); tensors = load_safetensors(path)
  canonical_names(cfg)                       # palimpsest's canonical tensor order
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULTS = {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_ctx": 1024, "vocab_size": 50257,
            "layer_norm_epsilon": 1e-5, "bos_token_id": 50256, "eos_token_id": 50256}


def config_from_dict(d):
    """Normalises a GPT2Config-like dict (n_positions or n_ctx) into palimpsest's keys."""
    cfg = dict(DEFAULTS)
    for k in DEFAULTS:
        if k in d:
            cfg[k] = d[k]
    if "n_positions" in d:
        cfg["n_ctx"] = d["n_positions"]
    if cfg["n_embd"] % cfg["n_head"]:
        raise ValueError("n_embd must be divisible by n_head")
    return cfg


class Conv1D(nn.Module):
    """y = x @ W + b with W stored [in, out], as HF's (and OpenAI's) Conv1D."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.n_head = cfg["n_head"]
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C)
        self.attn_dropout = nn.Dropout(0.0)
        self.resid_dropout = nn.Dropout(0.0)

    def forward(self, x):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B,H,T,hs)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril_()
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.c_fc = Conv1D(C, 4 * C)
        self.c_proj = Conv1D(4 * C, C)
        self.dropout = nn.Dropout(0.0)

    def forward(self, x):
        return self.dropout(self.c_proj(gelu_new(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(C, eps=eps)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(C, eps=eps)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg = config_from_dict(cfg)
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.wpe = nn.Embedding(cfg["n_ctx"], cfg["n_embd"])
        self.drop = nn.Dropout(0.0)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(cfg["n_embd"], eps=cfg["layer_norm_epsilon"])

    def forward(self, ids, targets=None):
        """ids (B,T) long -> logits (B,T,V); loss = mean cross-entropy over B*T (or None)."""
        B, T = ids.shape
        pos = torch.arange(T, device=ids.device)
        x = self.drop(self.wte(ids) + self.wpe(pos)[None])
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied lm_head
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def hf_state_dict(self):
        """Tensors under HF's names without "transformer." (as the published gpt2 files)."""
        return {k: v.detach() for k, v in self.state_dict().items()}

    def load_hf_state_dict(self, sd):
        own = self.state_dict()
        clean = {}
        for k, v in sd.items():
            if k.startswith("transformer."):
                k = k[len("transformer."):]
            if k == "lm_head.weight" or k.endswith(".attn.bias") or k.endswith(".attn.masked_bias"):
                continue
            clean[k] = v.to(own[k].dtype) if k in own else v
        missing = set(own) - set(clean)
        if missing:
            raise KeyError("missing tensors: %s" % sorted(missing)[:5])
        self.load_state_dict(clean)

    @torch.no_grad()
    def generate_greedy(self, prompt, n_new):
        """prompt: list of ids. Returns the n_new greedily chosen ids (argmax, lowest id on ties)."""
        ids = list(prompt)
        for _ in range(n_new):
            ctx = ids[-self.cfg["n_ctx"]:]
            logits, _ = self(torch.tensor([ctx]))
            ids.append(int(torch.argmax(logits[0, -1])))
        return ids[len(prompt):]


def canonical_names(cfg):
    """palimpsest's canonical tensor order (include/palimpsest/model.h)."""
    names = ["wte.weight", "wpe.weight"]
    for l in range(cfg["n_layer"]):
        p = "h.%d." % l
        names += [p + "ln_1.weight", p + "ln_1.bias", p + "attn.c_attn.weight", p + "attn.c_attn.bias",
                  p + "attn.c_proj.weight", p + "attn.c_proj.bias", p + "ln_2.weight", p + "ln_2.bias",
                  p + "mlp.c_fc.weight", p + "mlp.c_fc.bias", p + "mlp.c_proj.weight", p + "mlp.c_proj.bias"]
    return names + ["ln_f.weight", "ln_f.bias"]


@torch.no_grad()
def init_gpt2_(model, seed, std=0.02, bias_std=0.0, ln_std=0.0):
    """GPT-2's init (HF _init_weights): N(0,std) matrices and embeddings, residual projections
    N(0, std/sqrt(2*n_layer)), zero biases, unit LayerNorm. bias_std/ln_std > 0 add noise to
    biases and LayerNorm parameters (fixtures use that so every path carries signal)."""
    g = torch.Generator().manual_seed(seed)
    L = model.cfg["n_layer"]
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            s = std / math.sqrt(2 * L) if name.endswith("c_proj.weight") else std
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * s)
        elif ".ln_" in name or name.startswith("ln_f"):
            base = 1.0 if name.endswith("weight") else 0.0
            p.copy_(base + torch.randn(p.shape, generator=g, dtype=torch.float64) * ln_std)
        else:
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * bias_std)
    return model


# ---- safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.
_DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
       torch.int64: "I64", torch.int32: "I32"}
_DT_INV = {v: k for k, v in _DT.items()}


def save_safetensors(path, tensors, metadata=None):
    header = {"__metadata__": metadata or {"format": "pt"}}
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    base = 8 + n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = _DT_INV[info["dtype"]]
        buf = bytearray(data[base + a:base + b])
        t = torch.frombuffer(buf, dtype=dt) if len(buf) else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def hf_config_dict(cfg):
    """config.json with GPT2Config's keys."""
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1, "bos_token_id": cfg["bos_token_id"], "embd_pdrop": 0.1,
        "eos_token_id": cfg["eos_token_id"], "initializer_range": 0.02,
        "layer_norm_epsilon": cfg["layer_norm_epsilon"], "model_type": "gpt2",
        "n_ctx": cfg["n_ctx"], "n_embd": cfg["n_embd"], "n_head": cfg["n_head"],
        "n_inner": None, "n_layer": cfg["n_layer"], "n_positions": cfg["n_ctx"],
        "resid_pdrop": 0.1, "scale_attn_weights": True, "summary_activation": None,
        "summary_first_dropout": 0.1, "summary_proj_to_labels": True, "summary_type": "cls_index",
        "summary_use_proj": True, "use_cache": True, "vocab_size": cfg["vocab_size"],
    }


def save_model_dir(model, d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hf_config_dict(model.cfg), f, indent=2, sort_keys=True)
        f.write("\n")
    sd = {k: v.float() for k, v in model.hf_state_dict().items()}
    save_safetensors(os.path.join(d, "model.safetensors"), sd)


def load_model_dir(d, dtype=torch.float32):
    with open(os.path.join(d, "config.json")) as f:
        model = GPT2(json.load(f))
    model.load_hf_state_dict(load_safetensors(os.path.join(d, "model.safetensors")))
    return model.to(dtype)
