"""torch_kv.py: the PyTorch side of bench/generate: GPT-2 greedy decoding on the CPU with a
KV cache of its own (keys and values appended per token, one token's forward per step),
loading the model directory with tests/ref/gpt2_ref.py. Prints one JSON line.

usage: /usr/bin/python3 bench/generate/torch_kv.py MODEL_DIR --prompt-ids 1,2,3 --new 256 --threads 2
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
import gpt2_ref  # noqa: E402


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class KVModel:
    """The reference model's weights, run one chunk at a time against a growing cache."""

    def __init__(self, model):
        sd = model.hf_state_dict()
        self.cfg = cfg = model.cfg
        self.C, self.H, self.L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
        self.eps = cfg["layer_norm_epsilon"]
        self.wte, self.wpe = sd["wte.weight"], sd["wpe.weight"]
        self.layers = []
        for l in range(self.L):
            g = lambda k: sd["h.%d.%s" % (l, k)]  # noqa: E731
            self.layers.append([g(k) for k in (
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")])
        self.lnf_w, self.lnf_b = sd["ln_f.weight"], sd["ln_f.bias"]
        self.k = [None] * self.L
        self.v = [None] * self.L

    def forward(self, ids, pos0):
        """ids: list of T ids at positions pos0.. -> logits of the last one (V)."""
        T, C, H = len(ids), self.C, self.H
        hs = C // H
        x = self.wte[torch.tensor(ids)] + self.wpe[pos0:pos0 + T]
        for l, (l1w, l1b, aw, ab, pw, pb, l2w, l2b, fw, fb, mw, mb) in enumerate(self.layers):
            h = F.layer_norm(x, (C,), l1w, l1b, self.eps)
            q, k, v = torch.addmm(ab, h, aw).split(C, dim=1)
            self.k[l] = k if self.k[l] is None else torch.cat([self.k[l], k])
            self.v[l] = v if self.v[l] is None else torch.cat([self.v[l], v])
            S = self.k[l].shape[0]
            qh = q.view(T, H, hs).transpose(0, 1)
            kh = self.k[l].view(S, H, hs).transpose(0, 1)
            vh = self.v[l].view(S, H, hs).transpose(0, 1)
            att = qh @ kh.transpose(1, 2) / math.sqrt(hs)
            if T > 1:
                mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
                att = att.masked_fill(~mask, float("-inf"))
            y = (att.softmax(-1) @ vh).transpose(0, 1).reshape(T, C)
            x = x + torch.addmm(pb, y, pw)
            h = F.layer_norm(x, (C,), l2w, l2b, self.eps)
            x = x + torch.addmm(mb, gelu_new(torch.addmm(fb, h, fw)), mw)
        last = F.layer_norm(x[-1], (C,), self.lnf_w, self.lnf_b, self.eps)
        return self.wte @ last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    prompt = [int(x) for x in a.prompt_ids.split(",")]
    with torch.inference_mode():
        m = KVModel(gpt2_ref.load_model_dir(a.model))
        t0 = time.perf_counter()
        logits = m.forward(prompt, 0)
        t1 = time.perf_counter()
        ids = []
        for _ in range(a.new):
            ids.append(int(torch.argmax(logits)))
            if len(ids) == a.new:
                break
            logits = m.forward([ids[-1]], len(prompt) + len(ids) - 1)
        t2 = time.perf_counter()
    print(json.dumps({"tokens_per_s": round((a.new - 1) / (t2 - t1), 2), "prompt_s": round(t1 - t0, 3),
                      "threads": a.threads, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "ids": ids}))


if __name__ == "__main__":
    main()
