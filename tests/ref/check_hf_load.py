#!/usr/bin/python3
"""check_hf_load.py DIR [--pal build/palimpsest] [--ids 1,2,3,...]: a dev-time check (needs
torch: /usr/bin/python3) that a model directory palimpsest wrote loads the way
transformers' GPT2LMHeadModel.from_pretrained(DIR) would load it, without transformers:

  * config.json: the GPT2Config keys from_pretrained reads, with values GPT-2 accepts;
  * model.safetensors checked as the safetensors library checks it (header length, JSON,
    offsets contiguous from 0 to the end of the buffer, dtype*shape = bytes), metadata
    "format" in ("pt", ...) as transformers requires, every tensor GPT2LMHeadModel expects
    present with its shape and dtype F32, nothing unexpected (lm_head.weight may be absent:
    it is tied to wte);
  * vocab.json + merges.txt readable as GPT2Tokenizer reads them;
  * then, with tests/ref/gpt2_ref.py (the engine's independent PyTorch GPT-2), the mean loss
    of --ids under the directory, compared with `palimpsest score --json --ids`.
Prints one line per check and exits 1 on any failure.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys

import torch

fails = 0


def check(ok, what):
    global fails
    print(("ok - " if ok else "not ok - ") + what)
    if not ok:
        fails += 1
    return ok


def expected_tensors(cfg):
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    t = {"wte.weight": [V, C], "wpe.weight": [P, C], "ln_f.weight": [C], "ln_f.bias": [C]}
    inner = cfg.get("n_inner") or 4 * C
    for l in range(cfg["n_layer"]):
        h = "h.%d." % l
        t.update({h + "ln_1.weight": [C], h + "ln_1.bias": [C], h + "ln_2.weight": [C], h + "ln_2.bias": [C],
                  h + "attn.c_attn.weight": [C, 3 * C], h + "attn.c_attn.bias": [3 * C],
                  h + "attn.c_proj.weight": [C, C], h + "attn.c_proj.bias": [C],
                  h + "mlp.c_fc.weight": [C, inner], h + "mlp.c_fc.bias": [inner],
                  h + "mlp.c_proj.weight": [inner, C], h + "mlp.c_proj.bias": [C]})
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--pal", default="build/palimpsest")
    ap.add_argument("--ids", default="")
    a = ap.parse_args()
    d = a.dir

    # ---- config.json as GPT2Config.from_pretrained reads it
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    check(cfg.get("model_type") == "gpt2", "config.json model_type is gpt2 (AutoConfig picks GPT2Config)")
    check("GPT2LMHeadModel" in cfg.get("architectures", []), "architectures names GPT2LMHeadModel")
    for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "bos_token_id", "eos_token_id"):
        check(isinstance(cfg.get(k), int) and cfg[k] >= 0, "config.json %s is an integer (%r)" % (k, cfg.get(k)))
    check(cfg.get("n_ctx", cfg["n_positions"]) == cfg["n_positions"], "n_ctx agrees with n_positions")
    check(cfg["n_embd"] % cfg["n_head"] == 0, "n_embd divisible by n_head")
    check(cfg.get("activation_function") == "gelu_new", "activation_function gelu_new")
    check(isinstance(cfg.get("layer_norm_epsilon"), float) and 0 < cfg["layer_norm_epsilon"] < 1,
          "layer_norm_epsilon a float")
    for k in ("resid_pdrop", "embd_pdrop", "attn_pdrop", "initializer_range"):
        check(isinstance(cfg.get(k), (int, float)), "config.json has %s" % k)
    check(cfg.get("torch_dtype") == "float32", "torch_dtype float32")
    check(isinstance(cfg.get("transformers_version"), str), "transformers_version present")
    check(cfg["eos_token_id"] < cfg["vocab_size"], "eos_token_id inside the vocabulary")

    # ---- model.safetensors as safetensors' Rust reader validates it
    path = os.path.join(d, "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    check(8 + n <= len(data), "header length inside the file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    check(meta is not None and meta.get("format") == "pt",
          "__metadata__ format is 'pt' (transformers refuses a file without it)")
    buf_len = len(data) - 8 - n
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos, contiguous = 0, True
    for s, e, k in spans:
        contiguous &= s == pos
        pos = e
    check(contiguous and pos == buf_len, "tensors cover the data buffer contiguously (safetensors' rule)")
    sizes = {"F32": 4, "F16": 2, "BF16": 2}
    check(all(v["dtype"] in sizes and math.prod(v["shape"]) * sizes[v["dtype"]] ==
              v["data_offsets"][1] - v["data_offsets"][0] for v in header.values()), "dtype*shape = bytes for each")
    names = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in header.items()}
    names.pop("lm_head.weight", None)
    want = expected_tensors(cfg)
    missing = sorted(set(want) - set(names))
    unexpected = sorted(k for k in set(names) - set(want) if not k.endswith(("attn.bias", "attn.masked_bias")))
    check(not missing, "every tensor GPT2LMHeadModel expects is there" + (" (missing %s)" % missing[:3] if missing else ""))
    check(not unexpected, "no unexpected tensors" + (" (%s)" % unexpected[:3] if unexpected else ""))
    check(all(names[k]["shape"] == s for k, s in want.items() if k in names), "every shape as GPT2LMHeadModel's")
    check(all(v["dtype"] == "F32" for v in header.values()), "every tensor F32")
    # the tensors load into torch with those shapes (what load_state_dict would see)
    base = 8 + n
    sd = {}
    for k, v in header.items():
        s, e = v["data_offsets"]
        sd[k] = torch.frombuffer(bytearray(data[base + s:base + e]), dtype=torch.float32).reshape(v["shape"])
    check(all(torch.isfinite(t).all() for t in sd.values()), "all weights finite")

    # ---- tokenizer files as GPT2Tokenizer reads them
    vp, mp = os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")
    if os.path.exists(vp) or os.path.exists(mp):
        with open(vp, encoding="utf-8") as f:
            vocab = json.load(f)
        check(isinstance(vocab, dict) and max(vocab.values()) < cfg["vocab_size"], "vocab.json ids fit vocab_size")
        with open(mp, encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [l for l in lines[1:] if l] if lines and lines[0].startswith("#version") else [l for l in lines if l]
        check(all(len(m.split()) == 2 for m in merges), "merges.txt: one pair per line")

    # ---- the loss under an independent PyTorch GPT-2 vs palimpsest score
    ref_dir = os.path.dirname(os.path.abspath(__file__))
    if a.ids and os.path.exists(os.path.join(ref_dir, "gpt2_ref.py")):
        sys.path.insert(0, ref_dir)
        import gpt2_ref
        model = gpt2_ref.load_model_dir(d, dtype=torch.float64)
        ids = torch.tensor([[int(x) for x in a.ids.split(",")]])
        with torch.no_grad():
            _, loss = model(ids[:, :-1], ids[:, 1:])
        out = subprocess.run([a.pal, "score", "--model", d, "--json", "--ids", a.ids], capture_output=True, text=True)
        ok = out.returncode == 0
        got = json.loads(out.stdout)["loss"] if ok else float("nan")
        print("    pytorch (float64) loss %.7f   palimpsest score %.7f   |diff| %.2e" % (float(loss), got, abs(float(loss) - got)))
        check(ok and abs(float(loss) - got) < 1e-4, "palimpsest score equals PyTorch's loss within 1e-4")
    print("%d failed" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
