#!/usr/bin/env bash
# test_best.sh: the best moments of a run: --early-stop stops after P validations without a
# lower mean loss (saving the last); --keep-best K keeps the K checkpoints of lowest mean
# validation loss beside --keep's newest; `palimpsest runs RUN` lists the checkpoints with
# their losses and sizes and marks the best; the report names the best checkpoint. The
# expectations are computed from the run's own log, so they hold on any machine.
. tests/lib.sh
FX=tests/fixtures/train
PY=python3
export OMP_NUM_THREADS=2
tiny_model $FX/keeper.txt $FX/inventory.txt
# a learning rate high enough that the validation loss turns back up
$PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/r --steps 60 --batch 2 --seq 32 --lr 0.3 --warmup 0 \
  --save-every 2 --keep 1 --keep-best 2 --early-stop 3 --val-fraction 0.2 --quiet 2>$TMP/err; rc=$?
check_eq "an early stop exits 0" 0 "$rc"
check "it says so" grep -q "stopped early at step" $TMP/err
check "the checkpoints left: the 2 of lowest validation loss and the last; training stopped 3 validations after the best" \
  $PY - $TMP/r <<'PY'
import json, os, sys
run = sys.argv[1]
val = {}
for l in open(os.path.join(run, "log.jsonl")):
    r = json.loads(l)
    if r["type"] == "val": val[r["step"]] = r["loss"]
steps = sorted(val)
best = min(steps, key=lambda s: (val[s], s))
last = steps[-1]
assert last < 60 and steps.index(last) - steps.index(best) == 3, (best, last, val)
saved = [s for s in steps if s > 0]          # every validation after step 0 was at a save
want = sorted(set(sorted(saved, key=lambda s: (val[s], s))[:2]) | {last})
got = sorted(int(d.split("-")[1]) for d in os.listdir(run) if d.startswith("checkpoint-"))
assert got == want, (got, want, val)
PY
out=$($PAL runs $TMP/r)
check "runs: one row per checkpoint, the best marked" $PY - "$out" $TMP/r <<'PY'
import json, os, sys
rows = [l.split() for l in sys.argv[1].splitlines()[1:] if l.strip() and not l.startswith("*")]
run = sys.argv[2]
got = sorted(int(d.split("-")[1]) for d in os.listdir(run) if d.startswith("checkpoint-"))
assert [int(r[0]) for r in rows] == got, rows
starred = [int(r[0]) for r in rows if r[1].endswith("*")]
val = {}
for l in open(os.path.join(run, "log.jsonl")):
    r = json.loads(l)
    if r["type"] == "val": val[r["step"]] = r["loss"]
assert starred == [min(got, key=lambda s: val[s])], (starred, rows)
assert all(r[-1] in ("KB", "MB") for r in rows)
PY
$PAL runs $TMP/r --json > $TMP/runs.json
check "runs --json: sizes are the folders' bytes, one best per column" $PY - $TMP/runs.json $TMP/r <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    d = os.path.join(sys.argv[2], r["path"])
    assert r["bytes"] == sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
assert sum("keeper.txt" in r["best"] for r in rows) == 1 and sum("mean" in r["best"] for r in rows) == 1
PY
$PAL report $TMP/r -o $TMP/report.html 2>/dev/null
best=$($PY -c "import json; print([r['step'] for r in map(json.loads, open('$TMP/runs.json')) if 'mean' in r['best']][0])")
check "the report names the best checkpoint" grep -q "&#9733; checkpoint-$best (" $TMP/report.html
# a mixture with provenance: its held-out tail is also scored per original file
$PAL mix $FX/keeper.txt $FX/inventory.txt -o $TMP/mix.txt --quiet
$PAL train --model $TMP/m --data $TMP/mix.txt --out $TMP/mx --steps 4 --batch 2 --seq 32 --save-every 2 --val-fraction 0.3 --quiet
check "per-origin validation: each validation scores keeper.txt and inventory.txt too; the mixture's loss is between theirs" \
  $PY - $TMP/mx/log.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"val"' in l]
steps = sorted({r["step"] for r in rows})
assert steps == [0, 2, 4], steps
for s in steps:
    whole = [r["loss"] for r in rows if r["step"] == s and "origin" not in r]
    parts = {r["origin"]: r["loss"] for r in rows if r["step"] == s and "origin" in r}
    assert len(whole) == 1 and sorted(parts) == ["tests/fixtures/train/inventory.txt", "tests/fixtures/train/keeper.txt"], parts
    assert min(parts.values()) - 1e-6 <= whole[0] <= max(parts.values()) + 1e-6, (whole, parts)
PY
check "runs shows a column per original file" bash -c "$PAL runs $TMP/mx | head -1 | grep -q 'mix.txt: keeper.txt.*mix.txt: inventory.txt'"
$PAL report $TMP/mx -o $TMP/mx.html 2>/dev/null
check_eq "the report draws three validation curves (the mixture, its two files)" 3 "$(grep -o '<polyline class="series"' $TMP/mx.html | wc -l | tr -d ' ' | awk '{print $1-1}')"
check_fails "--early-stop needs a held-out tail" "val-fraction must be > 0" \
  $PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/x --steps 4 --batch 2 --seq 32 --early-stop 2 --val-fraction 0
check_fails "runs: not a run" "not a run folder" $PAL runs $TMP
done_tests
