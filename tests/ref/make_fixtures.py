"""make_fixtures.py FIXTURES_DIR: writes FIXTURES_DIR/tiny/, the engine's expectations computed
by the independent PyTorch GPT-2 in gpt2_ref.py (in float64, stored as float32). Run by
`make fixtures` with /usr/bin/python3 (Debian's python3-torch). Deterministic for its seed;
it never reads anything palimpsest wrote. See tests/fixtures/tiny/README.md for the files."""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref  # noqa: E402

CFG = {"n_layer": 2, "n_head": 4, "n_embd": 24, "n_ctx": 32, "vocab_size": 97,
       "layer_norm_epsilon": 1e-5, "bos_token_id": 96, "eos_token_id": 96}
SEED = 1234
B, T = 2, 16
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
STEPS = 3
VARIANTS = [("adamw_plain", 0.0, 0.0), ("adamw_decay", 0.1, 0.0), ("adamw_clip", 0.1, 1.0)]


def flat(tensors, names):
    return torch.cat([tensors[n].reshape(-1).to(torch.float32) for n in names])


def write_bin(path, t):
    t.detach().to(torch.float32).contiguous().view(-1).numpy().astype("<f4").tofile(path)


def adamw_run(model64, ids, tg, wd, clip):
    m = gpt2_ref.GPT2(CFG).double()
    m.load_state_dict(model64.state_dict())
    decay = [p for p in m.parameters() if p.dim() >= 2]
    no_decay = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=BETAS, eps=EPS)
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
    return m, norms


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    out = os.path.join(root, "tiny")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    names = gpt2_ref.canonical_names(CFG)

    # The model: float32 weights (what the files hold); large std so activations carry signal.
    model = gpt2_ref.GPT2(CFG)
    gpt2_ref.init_gpt2_(model, SEED, std=0.3, bias_std=0.1, ln_std=0.2)
    gpt2_ref.save_model_dir(model, out)
    sd32 = model.hf_state_dict()
    write_bin(os.path.join(out, "params.bin"), flat(sd32, names))

    # Everything below in float64 from the same float32 weights.
    m64 = gpt2_ref.GPT2(CFG).double()
    m64.load_state_dict({k: v.double() for k, v in sd32.items()})
    g = torch.Generator().manual_seed(SEED + 1)
    ids = torch.randint(0, CFG["vocab_size"], (B, T), generator=g)
    tg = torch.randint(0, CFG["vocab_size"], (B, T), generator=g)
    logits, loss = m64(ids, tg)
    loss.backward()
    write_bin(os.path.join(out, "logits.bin"), logits)
    grads = {n: p.grad for n, p in m64.named_parameters()}
    write_bin(os.path.join(out, "grads.bin"), flat(grads, names))
    grad_norm = float(torch.sqrt(sum((gr.double() ** 2).sum() for gr in grads.values())))

    adamw = {}
    for fname, wd, clip in VARIANTS:
        m, norms = adamw_run(m64, ids, tg, wd, clip)
        write_bin(os.path.join(out, fname + ".bin"), flat(m.hf_state_dict(), names))
        adamw[fname] = {"file": fname + ".bin", "weight_decay": wd, "clip": clip, "grad_norms": norms}

    # Greedy generation: pick a prompt whose every argmax wins by a clear margin, so float32
    # rounding cannot flip a choice.
    n_new = 20
    for attempt in range(100):
        prompt = torch.randint(0, CFG["vocab_size"], (5,), generator=g).tolist()
        seq, margin = list(prompt), float("inf")
        with torch.no_grad():
            for _ in range(n_new):
                lg, _ = m64(torch.tensor([seq]))
                top = torch.topk(lg[0, -1], 2).values
                margin = min(margin, float(top[0] - top[1]))
                seq.append(int(torch.argmax(lg[0, -1])))
        if margin > 1e-3:
            break
    greedy = seq[len(prompt):]
    assert greedy == m64.generate_greedy(prompt, n_new)

    # score --ids: N ids give N-1 predictions.
    score_ids = torch.randint(0, CFG["vocab_size"], (20,), generator=g)
    with torch.no_grad():
        _, sl = m64(score_ids[None, :-1], score_ids[None, 1:])

    manifest = {
        "about": "tiny GPT-2 expectations from tests/ref/make_fixtures.py (PyTorch, float64); see README.md",
        "config": CFG, "B": B, "T": T,
        "inputs": ids.reshape(-1).tolist(), "targets": tg.reshape(-1).tolist(),
        "loss": float(loss), "grad_norm": grad_norm,
        "n_params": sum(p.numel() for p in model.parameters()),
        "tensors": [{"name": n, "shape": list(sd32[n].shape)} for n in names],
        "files": {"params": "params.bin", "logits": "logits.bin", "grads": "grads.bin"},
        "adamw": {"lr": LR, "beta1": BETAS[0], "beta2": BETAS[1], "eps": EPS, "steps": STEPS,
                  "variants": adamw},
        "greedy_prompt": prompt, "greedy_new_tokens": n_new, "greedy": greedy,
        "greedy_min_margin": margin,
        "score_ids": score_ids.tolist(), "score_loss": float(sl), "score_perplexity": math.exp(float(sl)),
    }
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote %s: loss %.6f grad_norm %.4f greedy margin %.4g" % (out, float(loss), grad_norm, margin))


if __name__ == "__main__":
    main()
