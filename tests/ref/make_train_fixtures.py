"""make_train_fixtures.py: the trainer's reference: 3 optimizer steps of PyTorch's AdamW on the
engine's tiny fixture model (tests/fixtures/tiny), fed the batches of llm.c's sequential
loader, with gradient accumulation, global-norm clipping, decoupled weight decay on matrices
and embeddings only, and a warmup + cosine learning rate, all written out independently here.

Writes tests/fixtures/train/: tokens.bin (an llm.c shard), after3.safetensors (parameters
after step 3, palimpsest's names) and expect.json (settings, per-step losses and lrs).
eps is 1e-5, not 1e-8: the gradient of the attention's key bias is identically zero (softmax
does not see a constant added to a row of scores), so both sides hold only rounding noise
there, and with a tiny eps Adam turns that noise into lr-sized steps no two implementations
share. With eps 1e-5 such noise moves a parameter by about 1e-6.
Run: /usr/bin/python3 tests/ref/make_train_fixtures.py [tests/fixtures]
"""
import json
import math
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
import gpt2_ref  # noqa: E402

SETTINGS = {"batch": 2, "seq": 8, "grad_accum": 2, "steps": 3, "lr": 1e-2, "min_lr": 1e-3,
            "warmup": 1, "weight_decay": 0.1, "grad_clip": 0.5, "beta1": 0.9, "beta2": 0.999,
            "eps": 1e-5, "n_tokens": 50}


def write_shard(path, ids):
    header = [0] * 256
    header[0], header[1], header[2] = 20240520, 1, len(ids)
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *header))
        f.write(struct.pack("<%dH" % len(ids), *ids))


def lr_at(step, s):
    """Warmup lr*step/warmup for step <= warmup, then cosine to min_lr at the last step."""
    if step <= s["warmup"]:
        return s["lr"] * step / s["warmup"]
    progress = (step - s["warmup"]) / (s["steps"] - s["warmup"])
    return s["min_lr"] + 0.5 * (1 + math.cos(math.pi * progress)) * (s["lr"] - s["min_lr"])


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    out = os.path.join(root, "train")
    os.makedirs(out, exist_ok=True)
    s = SETTINGS
    torch.manual_seed(0)
    model = gpt2_ref.load_model_dir(os.path.join(root, "tiny")).double()
    V = model.cfg["vocab_size"]
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(0, V, (s["n_tokens"],), generator=g).tolist()
    write_shard(os.path.join(out, "tokens.bin"), ids)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": s["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=s["lr"], betas=(s["beta1"], s["beta2"]), eps=s["eps"])
    B, T = s["batch"], s["seq"]
    pos = 0
    losses, lrs, norms = [], [], []
    for step in range(1, s["steps"] + 1):
        lr = lr_at(step, s)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad()
        total = 0.0
        for _ in range(s["grad_accum"]):
            buf = torch.tensor(ids[pos:pos + B * T + 1])
            x, y = buf[:-1].view(B, T), buf[1:].view(B, T)
            pos += B * T
            if pos + B * T + 1 > len(ids):
                pos = 0
            _, loss = model(x, y)
            (loss / s["grad_accum"]).backward()
            total += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), s["grad_clip"])
        opt.step()
        losses.append(total / s["grad_accum"])
        lrs.append(lr)
        norms.append(float(norm))
    sd = {k: v.float().contiguous() for k, v in model.hf_state_dict().items()}
    gpt2_ref.save_safetensors(os.path.join(out, "after3.safetensors"), sd)
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump({"settings": s, "losses": losses, "lrs": lrs, "grad_norms": norms,
                   "final_position": pos}, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
