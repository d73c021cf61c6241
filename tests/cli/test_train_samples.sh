#!/usr/bin/env bash
# test_train_samples.sh: `train --sample-every K`: samples at every K steps, at every save and
# before training, with the same seeds each time, in RUN/samples.jsonl; printed unless
# --quiet; a run interrupted and resumed writes the same file as one that ran through (a
# line past the checkpoint, left by a crash, is dropped); off, nothing is written.
. tests/lib.sh
FX=tests/fixtures/train
PY=python3
export OMP_NUM_THREADS=2
tiny_model $FX/keeper.txt $FX/inventory.txt
ARGS="--model $TMP/m --data $FX/keeper.txt --data $FX/inventory.txt --batch 2 --seq 32 --lr 3e-3 --save-every 3"
SAMP="--sample-every 2 --sample-prompt The --sample-length 10 --sample-n 2 --sample-temperature 0.9"
$PAL train $ARGS $SAMP --steps 6 --out $TMP/a 2>$TMP/a.err
check "train with samples exits 0" test -d $TMP/a/checkpoint-6
check "samples are printed under the progress line" grep -q "^step 2 sample 1: " $TMP/a.err
check "their cost is printed" grep -q "^(samples: [0-9.]* s)" $TMP/a.err
check "RUN/samples.jsonl: steps 0 2 3 4 6 (every 2, every save), 2 samples each, same seeds and settings" $PY - $TMP/a/samples.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["step"] for r in rows] == [0, 0, 2, 2, 3, 3, 4, 4, 6, 6], [r["step"] for r in rows]
assert [r["sample"] for r in rows] == [0, 1] * 5 and [r["seed"] for r in rows] == [1337, 1338] * 5
assert rows[0]["source"] is None and all(r["source"] in ("keeper.txt", "inventory.txt") for r in rows[2:])
assert all(r["prompt"] == "The" and r["settings"] == {"length": 10, "temperature": 0.9, "n": 2} for r in rows)
assert all(len(r["ids"]) == r["tokens"] and r["tokens"] <= 10 for r in rows)
assert len({r["text"] for r in rows}) > 2, "the weights change, so do the texts"
PY
$PAL train $ARGS $SAMP --steps 3 --out $TMP/b --quiet 2>$TMP/b.err
check_eq "--quiet prints no samples" "" "$(cat $TMP/b.err)"
echo '{"step":5,"source":"x","text":"left by a crash"}' >> $TMP/b/samples.jsonl
$PAL train --resume $TMP/b --steps 6 --quiet
check "a resumed run's samples equal the uninterrupted run's, byte for byte" cmp $TMP/a/samples.jsonl $TMP/b/samples.jsonl
$PAL train $ARGS --steps 3 --out $TMP/c --quiet
check "off: no samples.jsonl" test ! -e $TMP/c/samples.jsonl
check "off: run.json records no --sample- setting" bash -c "! grep -q sample- $TMP/c/run.json"
check_fails "a bad --sample-n is refused" "sample-n.*positive count" $PAL train $ARGS --steps 3 --out $TMP/d --sample-every 1 --sample-n 0
check_fails "a bad --sample-temperature is refused" "sample-temperature.*temperature" $PAL train $ARGS --steps 3 --out $TMP/d --sample-every 1 --sample-temperature x
done_tests
