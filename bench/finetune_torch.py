"""torch_finetune.py: the peer side of bench/finetune: the same fine-tune loop as
`palimpsest train` in PyTorch on the CPU (bench/nanogpt.py's GPT-2, the fastest we can write,
in FP32 or under bf16 autocast): llm.c's sequential loader over a token shard, forward,
backward, global-norm clipping at 1.0, AdamW (decay on matrices and embeddings), constant lr.
Prints one JSON line with tokens/s (median step time, first step excluded).
usage: finetune_torch.py MODEL_DIR SHARD.bin STEPS B T THREADS [fp32|bf16]
"""
import json
import os
import statistics
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nanogpt  # noqa: E402


def read_shard(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<256i", data[:1024])[2]
    return torch.tensor(struct.unpack("<%dH" % n, data[1024:1024 + 2 * n]), dtype=torch.long)


def main():
    model_dir, shard, steps, B, T, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    dtype = sys.argv[7] if len(sys.argv) > 7 else "fp32"
    torch.set_num_threads(threads)
    model = nanogpt.load_hf_dir(model_dir)
    model.train()
    tokens = read_shard(shard)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    pos, times = 0, []
    for step in range(steps):
        t0 = time.perf_counter()
        buf = tokens[pos:pos + B * T + 1]
        x, y = buf[:-1].view(B, T), buf[1:].view(B, T)
        pos += B * T
        if pos + B * T + 1 > len(tokens):
            pos = 0
        opt.zero_grad(set_to_none=True)
        with nanogpt.autocast(dtype):
            _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    timed = times[1:] if len(times) > 1 else times
    print(json.dumps({"tokens_per_s": B * T / statistics.median(timed), "loss": loss.item(), "steps": steps, "dtype": dtype}))


if __name__ == "__main__":
    main()
