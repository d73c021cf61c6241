#!/usr/bin/env bash
# bench/finetune/run.sh: tokens/s of a 124M fine-tune step (B=4, T=256, grad-accum 1, data
# loader + clipping + AdamW included) in palimpsest and in PyTorch on the CPU, in one run, and
# the time of one 124M checkpoint save. Not a test: prints both figures and the ratio.
# usage: bash bench/finetune/run.sh [STEPS] [THREADS]   (run from the repository root)
set -eu
cd "$(dirname "$0")/../.."
STEPS=${1:-6}
THREADS=${2:-$(nproc)}
PAL=${PAL:-build/palimpsest}
PY=${PY:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# A text of our own making, repeated to 200k tokens' worth (the loader wraps anyway).
for i in $(seq 1 400); do cat tests/fixtures/train/keeper.txt tests/fixtures/train/inventory.txt; done > "$W/text.txt"
$PAL init --config 124M --tokenizer data/tokenizer/gpt2 --out "$W/gpt2" --seed 1 >/dev/null
$PAL encode --model "$W/gpt2" "$W/text.txt" -o "$W/text.bin" >/dev/null

echo "124M fine-tune step, B=4 T=256, $THREADS threads, $STEPS steps each (median step time; first step excluded)"
$PAL train --model "$W/gpt2" --data "$W/text.bin" --out "$W/run" --steps "$STEPS" --batch 4 --seq 256 \
  --order sequential --save-every 0 --val-fraction 0 --warmup 0 --lr-schedule constant --threads "$THREADS" 2>"$W/train.err"
pal_tps=$($PY -c "
import json, statistics, sys
r = [json.loads(l) for l in open('$W/run/log.jsonl')]
t = [x['tokens_per_s'] for x in r if x['type'] == 'train'][1:]
print('%.1f' % statistics.median(t))")
save_s=$(grep -oE 'saved .* \(([0-9.]+) s\)' "$W/train.err" | grep -oE '[0-9.]+ s' | tr -d ' s' | tail -1)
[ -z "$save_s" ] && save_s=$($PY -c "print('n/a')")
rm -rf "$W/run"
torch_tps=$(OMP_NUM_THREADS=$THREADS $PY bench/finetune/torch_finetune.py "$W/gpt2" "$W/text.bin" "$STEPS" 4 256 "$THREADS" |
            $PY -c "import json,sys; print('%.1f' % json.load(sys.stdin)['tokens_per_s'])")
echo "palimpsest: $pal_tps tokens/s"
echo "pytorch:    $torch_tps tokens/s"
$PY -c "print('ratio:      %.2fx (target >= 1.5x)' % ($pal_tps / $torch_tps))"
echo "checkpoint save (124M: model + optimizer moments + state, fsynced): $save_s s (target < 2 s)"
