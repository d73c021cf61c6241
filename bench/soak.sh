#!/usr/bin/env bash
# bench/soak.sh [TRIALS] [SEED]: kill -9 at random moments of a tiny training run (two
# sources in a --curriculum, dropout, a save every 3 steps, --keep 2 rotation), each run then
# resumed to the end (or started again when killed before run.json); prints how many trials
# ended bitwise equal to the uninterrupted run: the kept checkpoints' model and optimizer
# files and every logged (step, loss, source). Target: TRIALS/TRIALS. Not a test: the moments
# depend on the machine's speed (the trial count is what to report, with the load average).
set -u
cd "$(dirname "$0")/.."
TRIALS=${1:-100}
RANDOM=${2:-1}
PAL=${PAL:-build/palimpsest}
FX=tests/fixtures/train
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=1

$PAL tokenizer train --vocab-size 300 $FX/keeper.txt $FX/inventory.txt --out $TMP/tok >/dev/null 2>&1
$PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=64,vocab_size=300 --tokenizer $TMP/tok --out $TMP/m --seed 1 >/dev/null 2>&1
ARGS="--model $TMP/m --data $FX/keeper.txt $FX/inventory.txt --curriculum --batch 2 --seq 32 --steps 24 --save-every 3 --keep 2 --dropout 0.1 --quiet"

# What a run leaves that must match: kept checkpoints' weights and moments, the logged steps.
digest() {
  local r=$1
  for d in $(ls $r | grep '^checkpoint-[0-9]*$' | sort -t- -k2 -n); do
    echo "$d $(cat $r/$d/model.safetensors $r/$d/optimizer.safetensors | sha256sum | cut -c1-16)"
  done
  grep '"type":"train"' $r/log.jsonl | sed 's/.*"step":\([0-9]*\),"loss":\([^,]*\),.*"source":"\([^"]*\)".*/\1 \2 \3/'
}

t0=$(date +%s%N)
$PAL train $ARGS --out $TMP/ref >/dev/null 2>&1 || { echo "soak: the reference run failed"; exit 1; }
ref_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
digest $TMP/ref > $TMP/ref.digest
echo "soak: reference run $ref_ms ms, $(ls $TMP/ref | grep -c '^checkpoint-[0-9]*$') checkpoints kept, $(grep -c '"type":"train"' $TMP/ref/log.jsonl) steps"

equal=0; interrupted=0; failed=0
for t in $(seq 1 $TRIALS); do
  R=$TMP/t; rm -rf $R
  delay_ms=$(( RANDOM % (ref_ms > 0 ? ref_ms : 1) ))
  $PAL train $ARGS --out $R >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if kill -9 $pid 2>/dev/null; then interrupted=$((interrupted + 1)); fi
  wait $pid 2>/dev/null
  if [ -s $R/run.json ]; then $PAL train --resume $R --quiet >/dev/null 2>$TMP/err; rc=$?
  else $PAL train $ARGS --out $R >/dev/null 2>$TMP/err; rc=$?; fi
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1)); echo "soak: trial $t (kill at $delay_ms ms): the resume failed: $(head -c 200 $TMP/err)"
  elif digest $R | cmp -s - $TMP/ref.digest; then
    equal=$((equal + 1))
  else
    echo "soak: trial $t (kill at $delay_ms ms): differs from the uninterrupted run"
  fi
done
echo "soak: $equal/$TRIALS trials ended bitwise equal to the uninterrupted run ($interrupted killed mid-run, $failed resumes failed; load average $(cut -d' ' -f1-3 /proc/loadavg))"
[ $equal -eq $TRIALS ]
