#!/usr/bin/env bash
# tests/golden/pipeline.sh OUT: the whole workflow on a tiny model, every step seeded and on
# one thread, so that its outputs can be compared with the committed tests/golden/expected/
# (tests/cli/test_golden.sh) and any refactor can prove it changed no behaviour.
# `make golden` rewrites expected/ from this script: do that only for an intended change.
set -euo pipefail
cd "$(dirname "$0")/../.."
PAL=${PAL:-build/palimpsest}
O=$1
rm -rf "$O" && mkdir -p "$O"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
T=tests/fixtures/present/texts

$PAL mix -o "$O/mixture.txt" --interleave weighted --seed 5 --until longest \
  --unit sentence --weight 2 $T/harbour.txt --reset --unit line $T/almanac.txt --lowercase $T/lines.txt --quiet
$PAL mix -o "$O/second.txt" --unit line --strip punct $T/lines.txt $T/almanac.txt --quiet
cat "$O/mixture.txt" "$O/mixture.txt" "$O/mixture.txt" > "$O/train_a.txt"
cat "$O/second.txt" "$O/second.txt" "$O/second.txt" "$O/second.txt" > "$O/train_b.txt"
$PAL tokenizer train --vocab-size 384 "$O/train_a.txt" "$O/train_b.txt" --out "$O/tok" >/dev/null
$PAL encode --tokenizer "$O/tok" "$O/mixture.txt" -o "$O/mixture.bin" >/dev/null
$PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=64 --tokenizer "$O/tok" --out "$O/model" --seed 11 >/dev/null
$PAL train --model "$O/model" --data "$O/train_a.txt" "$O/train_b.txt" --out "$O/run" --steps 12 \
  --save-every 4 --batch 2 --seq 32 --lr 3e-3 --warmup 2 --dropout 0.1 --curriculum --threads 1 --quiet
$PAL train --resume "$O/run" --steps 14 --threads 1 --quiet
$PAL score --model "$O/run/checkpoint-14" "$O/second.txt" --json --threads 1 > "$O/score.json"
$PAL sweep --run "$O/run" --checkpoints all --temperatures 0.7,1.3 --n 2 --length 24 --prompt "The" \
  --seed 3 --threads 1 --out "$O/sweep.jsonl" --quiet
$PAL weave --run "$O/run" --schedule timelapse --length 40 --prompt "The" --seed 7 --threads 1 \
  --format jsonl --quiet > "$O/weave.jsonl"
$PAL weave --run "$O/run" --schedule list:4,12,8 --context own --length 30 --seed 8 --threads 1 \
  --format jsonl --quiet > "$O/weave_own.jsonl"
$PAL weave --run "$O/run" --blend 4:0.5,14:0.5 --length 20 --seed 9 --threads 1 --format jsonl --quiet > "$O/blend.jsonl"
$PAL weave --run "$O/run" --interpolate 4:0.3,14:0.7 --length 20 --seed 9 --threads 1 --format jsonl --quiet > "$O/interp.jsonl"
$PAL sample --model "$O/run/checkpoint-8" --prompt "The" --length 30 --seed 2 --n 2 --top-k 20 \
  --threads 1 --format jsonl --quiet > "$O/sample.jsonl"
$PAL format --width 30 --page-width 50 --center "$O/weave.jsonl" --out "$O/weave.txt"
$PAL format --width 30 --center --html --title "Golden" "$O/weave.jsonl" --out "$O/weave.html"
# the inputs copied in are not outputs; what the run made is
rm -f "$O/train_a.txt" "$O/train_b.txt"
