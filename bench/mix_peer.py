#!/usr/bin/env python3
"""mix_peer.py DIR OUT: the original notebook's method, re-written here in plain Python for
comparison: sentences of the prose (a regex split), lines of the poems and slurry, the
reportage split on '.' and newlines, kept when 5 < len < 80, punctuation and digits removed,
then one unit of each in turn, here until the longest ends (as bench/mix.sh runs palimpsest)."""
import itertools, os, re, string, sys

d, out = sys.argv[1], sys.argv[2]
read = lambda n: open(os.path.join(d, n), encoding="utf-8").read()
prose = [re.sub(r"\s+", " ", p).strip() for p in read("prose.txt").split("\n\n")]
sentences = [s for p in prose for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", p) if s]
poems = [l.strip() for l in read("poems.txt").split("\n") if l.strip()]
table = str.maketrans("", "", string.punctuation + string.digits + "\u2014")
sports = [s.strip() for s in read("reportage.txt").replace("\n", ".").split(".")]
sports = [" ".join(s.translate(table).split()) for s in sports if 5 < len(s) < 80]
sports = [s for s in sports if s]
slurry = [l.strip() for l in read("slurry.txt").split("\n") if l.strip()]
with open(out, "w", encoding="utf-8") as f:
    for turn in itertools.zip_longest(sentences, poems, sports, slurry):
        for unit in turn:
            if unit is not None: f.write(unit + "\n")
