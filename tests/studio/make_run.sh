#!/usr/bin/env bash
# tests/studio/make_run.sh OUT: a tiny run for the studio's tests and benchmark: a byte-level
# BPE of 384 ids, a 2-layer GPT-2, 12 steps of a two-text curriculum saved every 4 steps
# (checkpoint-0 included), and a sweep of it (OUT/run/sweep.jsonl). Seeded, one thread.
set -euo pipefail
cd "$(dirname "$0")/../.."
PAL=${PAL:-build/palimpsest}
O=$1
rm -rf "$O" && mkdir -p "$O"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
T=tests/fixtures/present/texts
cat $T/harbour.txt $T/harbour.txt $T/harbour.txt > "$O/harbour.txt"
cat $T/lines.txt $T/almanac.txt $T/lines.txt $T/almanac.txt > "$O/almanac.txt"
$PAL tokenizer train --vocab-size 384 "$O/harbour.txt" "$O/almanac.txt" --out "$O/tok" >/dev/null
$PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=64 --tokenizer "$O/tok" --out "$O/model" --seed 11 >/dev/null
mkdir -p "$O/run"
$PAL train --model "$O/model" --data "$O/harbour.txt" "$O/almanac.txt" --out "$O/run" --steps 12 \
  --save-every 4 --batch 2 --seq 32 --lr 3e-3 --warmup 2 --curriculum --threads 1 --quiet
cp -r "$O/model" "$O/run/checkpoint-0"
$PAL sweep --run "$O/run" --checkpoints 4,12 --temperatures 0,0.7,1.3 --n 1 --length 24 --prompt "The" \
  --seed 3 --threads 1 --out "$O/run/sweep.jsonl" --quiet
# a slower model (4 x 256, n_ctx 1024) on the same tokenizer: long enough generations to be
# stopped, disconnected from and queued behind in the server tests
mkdir -p "$O/slow"
$PAL init --config n_layer=4,n_head=4,n_embd=256,n_ctx=1024 --tokenizer "$O/tok" --out "$O/slow/checkpoint-0" --seed 5 >/dev/null
$PAL init --config n_layer=4,n_head=4,n_embd=256,n_ctx=1024 --tokenizer "$O/tok" --out "$O/slow/checkpoint-1" --seed 6 >/dev/null
