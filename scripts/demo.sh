#!/usr/bin/env bash
# demo.sh: the main job on the built-in default (`make demo` runs it after setup and build):
# fetch and mix the default corpora, train (or fine-tune models/gpt2) with checkpoints, sweep
# and weave across them, format the weave and write report.html. Everything goes under
# out/demo/ (DEMO_OUT); it never touches files outside that folder but data/corpora.
#   QUICK=1          a first look in under 2 minutes (smaller model, fewer steps)
#   DEMO_BUDGET=S    the whole demo's time in seconds (default 540, QUICK 100): training gets
#                    what the other stages leave, at the step time measured on this machine
#   DEMO_STEPS=N     a fixed number of training steps instead (tests use a tiny count)
#   DEMO_OUT=DIR     where the outputs go (default out/demo)
#   DEMO_GPT2=DIR    the GPT-2 to fine-tune when it exists (default models/gpt2)
#   DEMO_RECIPE=F    another mix recipe (default recipes/default.ini); DEMO_FETCH=0 skips
#                    `corpus fetch` (for a recipe of your own texts)
set -euo pipefail
cd "$(dirname "$0")/.."
PAL=${PAL:-build/palimpsest}
OUT=${DEMO_OUT:-out/demo}
QUICK=${QUICK:-0}
CORPORA=data/corpora    # where recipes/default.ini looks for them
RECIPE=${DEMO_RECIPE:-recipes/default.ini}

# Sizes: at most these steps; fewer when this machine's measured step time says the budget
# (under 10 minutes, QUICK under 2) would not hold (see docs/PARTS/present.md).
if [ "$QUICK" = 1 ]; then
  BUDGET=${DEMO_BUDGET:-100}; RESERVE=25   # seconds kept for sweep, weave, format and report
  STEPS=${DEMO_STEPS:-1000}; VOCAB=${DEMO_VOCAB:-1024}; LAYERS=3; HEADS=3; EMBD=96; CTX=128
  BATCH=8; SEQ=128; TUNE_STEPS=${DEMO_STEPS:-8}; TUNE_SEQ=32; MIX_BYTES=${DEMO_MIX_BYTES:-600000}
  LENGTH=40
else
  BUDGET=${DEMO_BUDGET:-540}; RESERVE=60
  STEPS=${DEMO_STEPS:-3000}; VOCAB=${DEMO_VOCAB:-2048}; LAYERS=4; HEADS=4; EMBD=128; CTX=128
  BATCH=8; SEQ=128; TUNE_STEPS=${DEMO_STEPS:-150}; TUNE_SEQ=64; MIX_BYTES=${DEMO_MIX_BYTES:-4000000}
  LENGTH=80
fi
# OpenMP threads that sleep when idle: on a busy machine spinning threads fight for the
# cores (measured: a 150-step run took 51 s spinning, 8 s passive, on 2 loaded cores).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
BATCH=${DEMO_BATCH:-$BATCH}; LR=${DEMO_LR:-2e-3}
SAVES=${DEMO_SAVES:-5}                      # checkpoints over the run (plus the last)

step_no=0 t_demo=$SECONDS t_step=$SECONDS
step() { step_no=$((step_no + 1)); t_step=$SECONDS; printf '\n== %d. %s\n' "$step_no" "$*"; }
wrote() { printf '   -> %s\n' "$*"; }
took() { printf '   (%ds; %ds since the start, budget %ds)\n' $((SECONDS - t_step)) $((SECONDS - t_demo)) "$BUDGET"; }
# fit_steps MAX MIN MODEL B T [train flags]: MAX, or fewer if the time left (the budget less
# what has run and RESERVE) cannot hold MAX steps at the step time measured here in a short
# run (8 steps, the first left out). With DEMO_STEPS set: MAX as given, nothing measured.
fit_steps() {
  local max=$1 min=$2 model=$3 b=$4 t=$5; shift 5
  if [ -n "${DEMO_STEPS:-}" ]; then echo "$max"; return; fi
  rm -rf "$OUT/calibrate"
  $PAL train --model "$model" --data "$OUT/mixture.txt" --out "$OUT/calibrate" --steps 8 --batch "$b" \
    --seq "$t" --save-every 0 --val-fraction 0.05 --quiet "$@" >/dev/null 2>&1 || { echo "$max"; return; }
  local left=$(( BUDGET - (SECONDS - t_demo) - RESERVE ))
  python3 - "$OUT/calibrate/log.jsonl" "$left" "$max" "$min" "$b" "$t" <<'PY'
import json, statistics, sys
log, left, hi, lo, b, t = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
tps = [r["tokens_per_s"] for r in map(json.loads, open(log)) if r.get("type") == "train"][1:]
step_s = b * t / statistics.median(tps) if tps and statistics.median(tps) > 0 else 0
# 1.25: validation and checkpoint saves along the run, and a machine that gets busier
n = int(left / (1.25 * step_s)) if step_s > 0 else hi
print(max(lo, min(hi, n)))
print("   (measured %.3f s a step here: %d s left for training -> %d steps)" % (step_s, left, max(lo, min(hi, n))), file=sys.stderr)
PY
  rm -rf "$OUT/calibrate"
}
need() {  # need COMMAND: the subcommand exists in this build
  if ! $PAL "$1" --help >/dev/null 2>&1; then
    echo "demo: 'palimpsest $1' is not available in this build ($PAL)" >&2; exit 1
  fi
}

echo "== palimpsest demo ($( [ "$QUICK" = 1 ] && echo quick || echo full )): $($PAL --version), outputs in $OUT/"
mkdir -p "$OUT"

step "fetch the default corpora and mix them ($RECIPE)"
need mix
if [ "${DEMO_FETCH:-1}" = 1 ]; then
  need corpus
  $PAL corpus fetch --out "$CORPORA"
  wrote "$CORPORA/"
else
  echo "   (DEMO_FETCH=0: mixing what $RECIPE names as it is)"
fi
$PAL mix --recipe "$RECIPE" -o "$OUT/mixture.full.txt" --force --quiet
# a prefix of the mixture is plenty for the time this demo has
if [ "$(wc -c <"$OUT/mixture.full.txt")" -gt "$MIX_BYTES" ]; then   # whole lines only
  head -c "$MIX_BYTES" "$OUT/mixture.full.txt" | head -n -1 >"$OUT/mixture.txt.tmp"
else
  cp "$OUT/mixture.full.txt" "$OUT/mixture.txt.tmp"
fi
mv "$OUT/mixture.txt.tmp" "$OUT/mixture.txt"
wrote "$OUT/mixture.txt ($(wc -c <"$OUT/mixture.txt") bytes of the $(wc -c <"$OUT/mixture.full.txt")-byte mixture; provenance in $OUT/mixture.full.txt.provenance.tsv)"
took

RUN=$OUT/run
rm -rf "$RUN"   # a demo starts fresh: the trainer refuses a folder holding another run
GPT2=${DEMO_GPT2:-models/gpt2}
if [ -f "$GPT2/model.safetensors" ]; then
  step "fine-tune GPT-2 ($GPT2) on the mixture, up to $TUNE_STEPS steps (as many as the time budget holds)"
  need train
  TUNE_SAVES=2   # a 124M checkpoint with its optimizer state is ~1.5 GB on disk
  TUNE_STEPS=$(fit_steps "$TUNE_STEPS" 4 "$GPT2" 1 "$TUNE_SEQ" --lr 1e-4)
  echo "   $TUNE_STEPS steps"
  EVERY=$(( TUNE_STEPS / TUNE_SAVES > 0 ? TUNE_STEPS / TUNE_SAVES : 1 ))
  $PAL train --model "$GPT2" --data "$OUT/mixture.txt" --out "$RUN" --steps "$TUNE_STEPS" \
    --batch 1 --seq "$TUNE_SEQ" --lr 1e-4 --warmup 2 --save-every "$EVERY" --val-fraction 0.05
else
  step "train a byte-level BPE ($VOCAB tokens) and a small GPT-2 from scratch ($LAYERS layers, $EMBD wide), up to $STEPS steps (as many as the time budget holds)"
  echo "   (no models/gpt2: run 'palimpsest download gpt2' first to fine-tune GPT-2 instead)"
  need tokenizer; need init; need train
  $PAL tokenizer train --vocab-size "$VOCAB" "$OUT/mixture.txt" --out "$OUT/tokenizer"
  wrote "$OUT/tokenizer/ (vocab.json, merges.txt)"
  rm -rf "$OUT/model"
  $PAL init --config "n_layer=$LAYERS,n_head=$HEADS,n_embd=$EMBD,n_ctx=$CTX" --tokenizer "$OUT/tokenizer" --out "$OUT/model"
  wrote "$OUT/model/ (config.json, model.safetensors)"
  STEPS=$(fit_steps "$STEPS" $((2 * SAVES)) "$OUT/model" "$BATCH" "$SEQ" --lr "$LR")
  echo "   $STEPS steps"
  EVERY=$(( STEPS / SAVES > 0 ? STEPS / SAVES : 1 ))
  WARM=$(( STEPS / 20 > 0 ? STEPS / 20 : 1 ))
  $PAL train --model "$OUT/model" --data "$OUT/mixture.txt" --out "$RUN" --steps "$STEPS" \
    --batch "$BATCH" --seq "$SEQ" --lr "$LR" --min-lr 1e-4 --warmup "$WARM" --save-every "$EVERY" \
    --val-fraction 0.05 --val-every "$EVERY"
fi
wrote "$RUN/ ($(ls -d "$RUN"/checkpoint-* 2>/dev/null | wc -l) checkpoints, log in $RUN/log.jsonl)"
took

step "a sweep over the checkpoints at three temperatures, and a weave with a timelapse schedule"
need sweep; need weave
$PAL sweep --run "$RUN" --temperatures 0.7,1.0,1.3 --length "$LENGTH" --prompt "The" --seed 7 --out "$OUT/sweep.jsonl"
wrote "$OUT/sweep.jsonl ($(wc -l <"$OUT/sweep.jsonl") samples)"
$PAL weave --run "$RUN" --schedule timelapse --length "$((LENGTH * 2))" --prompt "The" --seed 7 --format jsonl \
  >"$OUT/weave.jsonl.tmp" && mv "$OUT/weave.jsonl.tmp" "$OUT/weave.jsonl"
wrote "$OUT/weave.jsonl"
took

step "format the weave centred, and write the report"
need format; need report
$PAL format --width 40 --page-width 100 --center "$OUT/weave.jsonl" --out "$OUT/weave.txt"
$PAL format --width 40 --center --html --title "A palimpsest of checkpoints" "$OUT/weave.jsonl" --out "$OUT/weave.html"
$PAL report "$RUN" --sweep "$OUT/sweep.jsonl" --weave "$OUT/weave.jsonl" -o "$OUT/report.html"
echo
cat "$OUT/weave.txt"
echo
wrote "$OUT/weave.txt (the weave, wrapped at 40 and centred in 100 columns)"
wrote "$OUT/weave.html (the same as a page)"
wrote "$OUT/report.html (loss curves, the sweep grid, the weave coloured by checkpoint)"
took
printf '\n== done in %ds (budget %ds): open %s in a browser\n' $((SECONDS - t_demo)) "$BUDGET" "$OUT/report.html"
