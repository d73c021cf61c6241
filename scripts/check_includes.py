#!/usr/bin/env python3
"""scripts/check_includes.py [SRC] [INCLUDE]: checks that the modules of src/ include each
other only downwards, so no include cycle can form between them:

    cli -> studio -> present -> (train | generate) -> (corpus | tokenizer) -> io -> model -> util

A module may include its own headers and those of any module of a lower rank. Headers are
attributed to modules by path: "palimpsest/run.h" and "train/trainer_internal.h" are
train's (include/palimpsest/NAME.h belongs to the module named in HEADER_MODULE below),
"palimpsest.h" (the umbrella) is for front ends only. The public headers are checked the
same way. Prints every edge that runs upwards or sideways; exit status 1 if there is one.
Run by `make test` (after the unit tests)."""
import os, re, sys

RANK = {"util": 0, "model": 1, "io": 2, "tokenizer": 3, "corpus": 3, "train": 4, "generate": 4,
        "present": 5, "studio": 6, "cli": 7}
# public headers: include/palimpsest/<name>.h -> module
HEADER_MODULE = {"util": "util", "model": "model", "optim": "train", "io": "io", "shard": "io",
                 "tokenizer": "tokenizer", "corpus": "corpus", "train": "train", "run": "train",
                 "generate": "generate", "session": "generate", "present": "present", "output": "util",
                 "studio": "studio", "dispatch": "model", "suffix": "corpus", "overlap": "present",
                 "samples": "present", "runs": "present", "provenance": "corpus"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(header):
    """The module a quoted include names, or None for a header outside the modules."""
    if header == "palimpsest.h":
        return "umbrella"
    parts = header.split("/")
    if parts[0] == "palimpsest" and len(parts) == 2:
        return HEADER_MODULE.get(parts[1][:-2], "unknown:" + header)
    if parts[0] in RANK:
        return parts[0]
    return None


def check(path, owner, bad):
    text = open(path, encoding="utf-8", errors="replace").read()
    for inc in INCLUDE.findall(text):
        m = module_of(inc)
        if m is None or m == owner:
            continue
        if m == "umbrella":
            if owner != "cli":
                bad.append(f"{path}: includes palimpsest.h (the umbrella is for front ends): name the modules")
        elif m.startswith("unknown:"):
            bad.append(f"{path}: includes {inc}, a public header no module owns (add it to HEADER_MODULE)")
        elif RANK[m] >= RANK[owner]:
            bad.append(f"{path}: {owner} includes {inc} ({m}): {m} is not below {owner}")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    inc = sys.argv[2] if len(sys.argv) > 2 else "include/palimpsest"
    bad = []
    for d in sorted(os.listdir(src)):
        if not os.path.isdir(os.path.join(src, d)):
            continue
        if d not in RANK:
            bad.append(f"{src}/{d}: a module without a rank (add it to RANK in scripts/check_includes.py)")
            continue
        for f in sorted(os.listdir(os.path.join(src, d))):
            if f.endswith((".c", ".h")):
                check(os.path.join(src, d, f), d, bad)
    for f in sorted(os.listdir(inc)):
        if f.endswith(".h"):
            owner = HEADER_MODULE.get(f[:-2])
            if owner is None:
                bad.append(f"{inc}/{f}: a public header no module owns (add it to HEADER_MODULE)")
            else:
                check(os.path.join(inc, f), owner, bad)
    for line in bad:
        print(line)
    print(f"includes: {len(bad)} edge(s) against the module order" if bad else "includes: every module includes only those below it")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
