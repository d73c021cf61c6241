#!/usr/bin/env python3
"""mix_peer.py DIR OUT: the original notebook's method (Make-Mixture.ipynb), re-written here in
plain Python for comparison: lines of the slurry, the reportage split on '.' and newlines and
kept when 5 < len < 80 with punctuation and digits removed, sentences of the prose (a regex
split: nltk is not installed), lines of the poems; one unit of each in turn, here until the
longest ends (as bench/mix.sh runs palimpsest)."""
import itertools, os, re, sys

d, out = sys.argv[1], sys.argv[2]
read = lambda n: open(os.path.join(d, n), encoding="utf-8").read()
# the novel: nltk's sent_tokenize in the original; a regex here (paragraphs, then stops)
prose = [re.sub(r"\s+", " ", p).strip() for p in read("prose.txt").split("\n\n")]
sentences = [s for p in prose for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", p) if s]
# the poems and the slurry: split("\n") then filter(None), as the notebook did
poems = list(filter(None, read("poems.txt").split("\n")))
slurry = list(filter(None, read("slurry.txt").split("\n")))
# the sports text, exactly the notebook's step
sports = []
for x in re.split(r"\.|\n", read("reportage.txt")):
    if len(x) < 80 and len(x) > 5:
        x = re.sub(r"[^\w\s]", "", x)
        x = re.sub(r"[0-9]+", "", x)
        sports.append(x)
sports = list(filter(None, sports))
with open(out, "w", encoding="utf-8") as f:
    for turn in itertools.zip_longest(slurry, sports, sentences, poems):
        for unit in turn:
            if unit is not None: f.write(unit + "\n")
