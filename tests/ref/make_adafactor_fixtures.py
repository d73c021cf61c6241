"""make_adafactor_fixtures.py FIXTURES_DIR: writes FIXTURES_DIR/tiny/adafactor_*.bin and
adafactor.json: 3 Adafactor steps on the tiny model's batch (tests/fixtures/tiny, written by
make_fixtures.py), in float64 with the independent PyTorch GPT-2 of gpt2_ref.py.

The optimizer below is written from Shazeer & Stern 2018 ("Adafactor", Algorithms 4 and 5)
with the choices of Hugging Face transformers' Adafactor when it is given an external learning
rate: relative_step=False, scale_parameter=False, warmup_init=False, beta1=None (no first
moment), decay_rate -0.8 (beta2_t = 1 - t^-0.8), eps1 1e-30 added to g^2, update clipping at
RMS 1.0; matrices keep row and column means of g^2, vectors the full average. Weight decay
p -= lr*wd*p on tensors of two or more dimensions only (a parameter group), as palimpsest's
AdamW. Run by `make fixtures` with /usr/bin/python3 (Debian's python3-torch)."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref  # noqa: E402

LR, STEPS = 1e-3, 3
DECAY_RATE, EPS1, CLIP_THRESHOLD = -0.8, 1e-30, 1.0
VARIANTS = [("adafactor_plain", 0.0, 0.0), ("adafactor_decay", 0.1, 1.0)]  # (file, weight decay, grad clip)


class Adafactor(torch.optim.Optimizer):
    def __init__(self, params, lr, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    if g.dim() >= 2:
                        st["row"] = torch.zeros(g.shape[:-1], dtype=g.dtype)
                        st["col"] = torch.zeros(g.shape[:-2] + g.shape[-1:], dtype=g.dtype)
                    else:
                        st["v"] = torch.zeros_like(g)
                st["step"] += 1
                beta2t = 1.0 - st["step"] ** DECAY_RATE
                sq = g * g + EPS1
                if g.dim() >= 2:
                    st["row"] = beta2t * st["row"] + (1 - beta2t) * sq.mean(dim=-1)
                    st["col"] = beta2t * st["col"] + (1 - beta2t) * sq.mean(dim=-2)
                    r = (st["row"] / st["row"].mean(dim=-1, keepdim=True)).rsqrt()
                    c = st["col"].rsqrt()
                    u = r.unsqueeze(-1) * c.unsqueeze(-2) * g
                else:
                    st["v"] = beta2t * st["v"] + (1 - beta2t) * sq
                    u = st["v"].rsqrt() * g
                rms = u.norm(2) / (u.numel() ** 0.5)
                u = u / torch.clamp(rms / CLIP_THRESHOLD, min=1.0) * group["lr"]
                if group["weight_decay"] != 0:
                    p.add_(p, alpha=-group["weight_decay"] * group["lr"])
                p.sub_(u)


def write_bin(path, t):
    t.detach().to(torch.float32).contiguous().view(-1).numpy().astype("<f4").tofile(path)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    tiny = os.path.join(root, "tiny")
    expect = json.load(open(os.path.join(tiny, "expect.json")))
    cfg = expect["config"]
    names = gpt2_ref.canonical_names(cfg)
    ids = torch.tensor(expect["inputs"]).reshape(expect["B"], expect["T"])
    tg = torch.tensor(expect["targets"]).reshape(expect["B"], expect["T"])
    sd32 = gpt2_ref.load_model_dir(tiny).hf_state_dict()
    out = {"about": "3 Adafactor steps on tiny/ (tests/ref/make_adafactor_fixtures.py, float64)",
           "lr": LR, "steps": STEPS, "decay_rate": DECAY_RATE, "eps1": EPS1, "clip_threshold": CLIP_THRESHOLD,
           "variants": {}}
    for fname, wd, clip in VARIANTS:
        m = gpt2_ref.GPT2(cfg).double()
        m.load_hf_state_dict({k: v.double() for k, v in sd32.items()})
        decay = [p for p in m.parameters() if p.dim() >= 2]
        no_decay = [p for p in m.parameters() if p.dim() < 2]
        opt = Adafactor([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}], lr=LR)
        norms = []
        for _ in range(STEPS):
            opt.zero_grad()
            _, loss = m(ids, tg)
            loss.backward()
            if clip > 0:
                norms.append(float(torch.nn.utils.clip_grad_norm_(m.parameters(), clip)))
            else:
                norms.append(float(torch.sqrt(sum((p.grad ** 2).sum() for p in m.parameters()))))
            opt.step()
        sd = m.hf_state_dict()
        write_bin(os.path.join(tiny, fname + ".bin"), torch.cat([sd[n].reshape(-1) for n in names]))
        # the statistics in palimpsest's order: per tensor vr then vc (matrices) or v (vectors)
        params = dict(m.named_parameters())
        by_name = {n: params[k] for n in names for k in params if k.endswith(n) or k == "transformer." + n}
        stats = []
        for n in names:
            s = opt.state[by_name[n]]
            stats += [s["row"].reshape(-1), s["col"].reshape(-1)] if "row" in s else [s["v"].reshape(-1)]
        write_bin(os.path.join(tiny, fname + "_state.bin"), torch.cat(stats))
        out["variants"][fname] = {"file": fname + ".bin", "state": fname + "_state.bin", "weight_decay": wd,
                                  "clip": clip, "grad_norms": norms}
    with open(os.path.join(tiny, "adafactor.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
