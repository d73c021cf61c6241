"""make_generate_fixtures.py: expectations for generate's tests from the PyTorch reference
(tests/ref/gpt2_ref.py, float64) on the engine's tiny model (tests/fixtures/tiny): greedy ids
past n_ctx with palimpsest's sliding window, and greedy ids under a repetition penalty and a
no-repeat-ngram ban with Hugging Face's semantics, written here independently of the C code.

usage: /usr/bin/python3 tests/ref/make_generate_fixtures.py   (writes tests/fixtures/generate/expect.json)
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gpt2_ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
PROMPT = [46, 63, 95, 4, 59]


def next_logits(model, ctx):
    with torch.no_grad():
        logits, _ = model(torch.tensor([ctx]))
    return logits[0, -1].clone()


def margin(scores):
    top = torch.topk(scores, 2).values
    return float(top[0] - top[1])


def greedy(model, prompt, n_new, penalty=1.0, ngram=0):
    """Greedy decoding with palimpsest's window rule: when the text outgrows n_ctx, the
    window restarts at the newest n_ctx//2 ids (positions from 0 again)."""
    n_ctx = model.cfg["n_ctx"]
    keep = max(1, n_ctx // 2)
    ids, start, min_margin = list(prompt), 0, float("inf")
    for _ in range(n_new):
        if len(ids) - start > n_ctx:
            start = len(ids) - keep
        scores = next_logits(model, ids[start:])
        if penalty != 1.0:  # HF RepetitionPenaltyLogitsProcessor over every id seen
            for t in set(ids):
                s = scores[t]
                scores[t] = s * penalty if s < 0 else s / penalty
        if ngram > 0 and len(ids) + 1 >= ngram:  # HF NoRepeatNGramLogitsProcessor
            prefix = tuple(ids[len(ids) - ngram + 1:])
            for i in range(len(ids) - ngram + 1):
                if tuple(ids[i:i + ngram - 1]) == prefix:
                    scores[ids[i + ngram - 1]] = -float("inf")
        finite = scores[torch.isfinite(scores)]
        if finite.numel() >= 2:
            min_margin = min(min_margin, margin(finite))
        ids.append(int(torch.argmax(scores)))
    return ids[len(prompt):], min_margin


def main():
    model = gpt2_ref.load_model_dir(os.path.join(ROOT, "tests/fixtures/tiny"), dtype=torch.float64)
    out = {"about": "generate expectations from tests/ref/make_generate_fixtures.py (PyTorch float64) "
                    "on tests/fixtures/tiny", "prompt": PROMPT}
    for name, n_new, pen, ng in [("greedy", 20, 1.0, 0), ("greedy_slide", 60, 1.0, 0),
                                 ("greedy_penalty", 20, 1.5, 0), ("greedy_ngram", 20, 1.0, 2)]:
        ids, m = greedy(model, PROMPT, n_new, pen, ng)
        out[name] = {"new_tokens": n_new, "repetition_penalty": pen, "no_repeat_ngram": ng,
                     "ids": ids, "min_margin": m}
    d = os.path.join(ROOT, "tests/fixtures/generate")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps({k: (v["ids"], round(v["min_margin"], 5)) for k, v in out.items() if isinstance(v, dict)}))


if __name__ == "__main__":
    main()
