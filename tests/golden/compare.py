#!/usr/bin/env python3
"""tests/golden/compare.py EXPECTED ACTUAL: compares a golden pipeline's outputs with the
committed ones. Prints one "ok - " / "not ok - " line per file (tests/run.sh counts them).

Normalised before comparing: the absolute path of ACTUAL (and of EXPECTED's recorded
origin) becomes @OUT@; timings (elapsed_s, tokens_per_s) and run.json's fingerprint (a hash
of those absolute paths) are dropped. Texts, token ids and every integer must be equal.
Floats (safetensors data, numbers in JSON) must be bitwise equal when PAL_GOLDEN_STRICT=1
(same machine and BLAS core as the one that wrote EXPECTED), else within 1e-5 relative:
another CPU's BLAS kernels may round differently, and that is not a change of behaviour.
Standard library only (CI has no numpy)."""
import json, math, os, struct, sys

VOLATILE = {"elapsed_s", "tokens_per_s", "fingerprint"}
STRICT = os.environ.get("PAL_GOLDEN_STRICT") == "1"
REL = 1e-5


def norm_text(s, out):
    return s.replace(out, "@OUT@")


def close(a, b):
    if STRICT:
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= REL * (1.0 + abs(b))


def same_json(a, b, where):
    """None when equal, else a description of the first difference."""
    if isinstance(a, dict) and isinstance(b, dict):
        ka, kb = set(a) - VOLATILE, set(b) - VOLATILE
        if ka != kb:
            return f"{where}: keys {sorted(ka ^ kb)} differ"
        for k in sorted(ka):
            d = same_json(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items, expected {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same_json(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return None if a == b else f"{where}: {a!r}, expected {b!r}"
    if isinstance(a, int) and isinstance(b, int):
        return None if a == b else f"{where}: {a}, expected {b}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return None if close(float(a), float(b)) else f"{where}: {a!r}, expected {b!r}"
    return f"{where}: {a!r}, expected {b!r}"


def load_json_lines(path, out, lines):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = norm_text(f.read(), out)
    if lines:
        return [json.loads(l) for l in text.splitlines() if l.strip()]
    return json.loads(text)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    return header, data[8 + n:]


def same_safetensors(a, b):
    ha, da = read_safetensors(a)
    hb, db = read_safetensors(b)
    if ha != hb:
        return "headers differ"
    if STRICT or da == db:
        return None if da == db else "tensor bytes differ (strict)"
    worst, where = 0.0, ""
    for name, t in hb.items():
        if name == "__metadata__":
            continue
        s, e = t["data_offsets"]
        if t["dtype"] != "F32":
            if da[s:e] != db[s:e]:
                return f"{name}: {t['dtype']} bytes differ"
            continue
        xa = struct.unpack(f"<{(e - s) // 4}f", da[s:e])
        xb = struct.unpack(f"<{(e - s) // 4}f", db[s:e])
        for x, y in zip(xa, xb):
            d = abs(x - y) / (1.0 + abs(y))
            if d > worst:
                worst, where = d, name
    return None if worst <= REL else f"{where}: relative difference {worst:.3g} > {REL}"


def compare(exp_root, act_root):
    out = os.path.realpath(act_root)
    exp_files, act_files = set(), set()
    for root, base in ((exp_root, exp_files), (act_root, act_files)):
        for d, _, fs in os.walk(root):
            for f in fs:
                if f == ".lock":   # a run's writer lock: holds a pid, no output
                    continue
                base.add(os.path.relpath(os.path.join(d, f), root))
    fails = 0
    for rel in sorted(exp_files | act_files):
        e, a = os.path.join(exp_root, rel), os.path.join(act_root, rel)
        if rel not in act_files:
            diff = "missing from the pipeline's output"
        elif rel not in exp_files:
            diff = "not in the expected files (run `make golden` if it is new on purpose)"
        elif rel.endswith(".safetensors"):
            diff = same_safetensors(a, e)
        elif rel.endswith(".jsonl") or rel.endswith(".json"):
            lines = rel.endswith(".jsonl")
            diff = same_json(load_json_lines(a, out, lines), load_json_lines(e, "@OUT@", lines), rel)
        else:
            with open(a, "rb") as f:
                ba = f.read()
            with open(e, "rb") as f:
                be = f.read()
            ba = ba.replace(out.encode(), b"@OUT@")
            diff = None if ba == be else f"bytes differ ({len(ba)} vs {len(be)} expected)"
        if diff:
            fails += 1
            print(f"not ok - golden {rel}: {diff}")
        else:
            print(f"ok - golden {rel}")
    return fails


def normalise_into(src, dst):
    """`make golden`: copies a pipeline's output into EXPECTED with paths replaced."""
    out = os.path.realpath(src)
    for d, _, fs in os.walk(src):
        for f in fs:
            if f == ".lock":
                continue
            p = os.path.join(d, f)
            q = os.path.join(dst, os.path.relpath(p, src))
            os.makedirs(os.path.dirname(q), exist_ok=True)
            with open(p, "rb") as fh:
                b = fh.read()
            if not p.endswith(".safetensors") and not p.endswith(".bin"):
                b = b.replace(out.encode(), b"@OUT@")
            with open(q, "wb") as fh:
                fh.write(b)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--write":
        normalise_into(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(1 if compare(sys.argv[1], sys.argv[2]) else 0)
