"""train_step_torch.py: the PyTorch side of bench/train_step: the same GPT-2 124M training step
(forward, backward, clip, AdamW) or forward-only scoring, with bench/nanogpt.py's model (the
fastest PyTorch GPT-2 we can write), in FP32 or bf16 autocast, at one (B, T) and thread count;
prints one JSON line. A benchmark: it asserts nothing."""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nanogpt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--B", type=int, default=4)
    ap.add_argument("--T", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--score", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = nanogpt.GPT(nanogpt.GPT2_124M)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    ids = torch.randint(0, 50257, (a.B, a.T + 1))
    x, y = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()
    times = []
    for s in range(a.steps + 1):
        t0 = time.perf_counter()
        if a.score:
            with torch.no_grad(), nanogpt.autocast(a.dtype):
                _, loss = model(x, y)
        else:
            opt.zero_grad(set_to_none=True)
            with nanogpt.autocast(a.dtype):
                _, loss = model(x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        if s:
            times.append(time.perf_counter() - t0)
    step = sum(times) / len(times)
    print(json.dumps({"impl": "pytorch", "mode": "score" if a.score else "train", "B": a.B, "T": a.T,
                      "threads": a.threads, "dtype": a.dtype, "steps": a.steps, "step_s": round(step, 4),
                      "tokens_per_s": round(a.B * a.T / step, 2), "loss": round(float(loss), 4),
                      "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
