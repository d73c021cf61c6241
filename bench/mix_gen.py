#!/usr/bin/env python3
"""mix_gen.py OUT_DIR MB: writes four synthetic sources (about MB/4 each) for bench/mix.sh:
prose (wrapped paragraphs), poems (short lines), reportage (sentences with digits and
punctuation), slurry (long lines). Words are made up here from a fixed seed; no real text."""
import os, random, sys

out, mb = sys.argv[1], float(sys.argv[2])
rng = random.Random(20191201)
syll = ["ka", "lo", "mi", "ne", "sor", "tu", "vel", "an", "dre", "ith", "om", "pha", "qui", "rus", "sel", "ta"]
words = ["".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
words += ["Mr.", "Mrs.", "St.", "Dr."]
caps = [w.capitalize() for w in words[:500]]
target = int(mb * 1e6 / 4)

def sentence(lo, hi, end="."):
    n = rng.randint(lo, hi)
    ws = [rng.choice(caps)] + [rng.choice(words) for _ in range(n - 1)]
    if rng.random() < 0.2: ws.insert(rng.randint(1, n), "\u2014")
    if rng.random() < 0.3: ws[rng.randint(1, n - 1)] += ","
    return " ".join(ws) + end

def write(name, make):
    path = os.path.join(out, name)
    size = 0
    with open(path, "w", encoding="utf-8") as f:
        while size < target:
            chunk = make()
            f.write(chunk)
            size += len(chunk.encode("utf-8"))
    return size

def prose():
    para = " ".join(sentence(4, 30, rng.choice([".", ".", ".", "?", "!", "..."])) for _ in range(rng.randint(2, 8)))
    lines, line = [], ""
    for w in para.split(" "):  # wrap at 72 columns like a printed book
        if len(line) + len(w) + 1 > 72: lines.append(line); line = w
        else: line = (line + " " + w) if line else w
    lines.append(line)
    return "\n".join(lines) + "\n\n"

def poems():
    return "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(2, 8))) for _ in range(rng.randint(2, 12))) + "\n\n"

def reportage():
    s = sentence(3, 20)
    return s[:-1] + " " + str(rng.randint(1, 99)) + "-" + str(rng.randint(1, 9)) + ". " + ("\n" if rng.random() < 0.3 else "")

def slurry():
    return " ".join(sentence(5, 25) for _ in range(rng.randint(1, 6))) + "\n"

total = sum(write(n, f) for n, f in [("prose.txt", prose), ("poems.txt", poems), ("reportage.txt", reportage), ("slurry.txt", slurry)])
print(total)
