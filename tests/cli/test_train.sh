#!/usr/bin/env bash
# test_train.sh: `palimpsest train` end to end on a tiny model (2 layers, 32 wide, a 300-token
# BPE trained on our own two texts): losses fall, checkpoints at the stated steps each score
# their held-out text to the logged loss, curriculum order, bad input refused before any work.
# (Resume, signals, kill -9, full disk and NaN are in test_train_faults.sh.)
. tests/lib.sh
FX=tests/fixtures/train
PY=python3
SAN=${PAL_SANITIZED:-0}
export OMP_NUM_THREADS=2

$PAL tokenizer train --vocab-size 300 $FX/keeper.txt $FX/inventory.txt --out $TMP/tok >/dev/null 2>&1
check "a 300-token tokenizer trains on the fixtures" test -f $TMP/tok/vocab.json
$PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=64,vocab_size=300 --tokenizer $TMP/tok --out $TMP/m --seed 1 >/dev/null 2>&1
check "a tiny model is initialised" test -f $TMP/m/model.safetensors

# ---- Training: losses fall; checkpoints at 50,100,150,200 (sanitized: 20,40).
if [ "$SAN" = 1 ]; then STEPS=40; EVERY=20; else STEPS=200; EVERY=50; fi
R=$TMP/run
# Hold out 60 tokens: a tail of at most n_positions+1 ids, which `score --ids` takes whole.
ntok=$($PAL encode --model $TMP/m $FX/keeper.txt --ids | tr ',' '\n' | grep -c '[0-9]')
VF=$($PY -c "print(60.5 / $ntok)")
out=$($PAL train --model $TMP/m --data $FX/keeper.txt --out $R --steps $STEPS --batch 4 --seq 64 \
      --lr 3e-3 --min-lr 3e-4 --warmup 10 --save-every $EVERY --val-fraction $VF --quiet 2>&1); rc=$?
check_eq "train exits 0" 0 "$rc"
[ $rc -ne 0 ] && echo "$out" | head -5
want=$(seq $EVERY $EVERY $STEPS | sed 's/^/checkpoint-/' | tr '\n' ' ')
got=$(ls $R | grep '^checkpoint-' | sort -t- -k2 -n | tr '\n' ' ')
check_eq "checkpoint folders at the stated steps" "$want" "$got"
for f in config.json model.safetensors vocab.json merges.txt optimizer.safetensors trainer_state.json; do
  check "checkpoint-$STEPS has $f" test -s $R/checkpoint-$STEPS/$f
done
check "run.json and log.jsonl written" test -s $R/run.json -a -s $R/log.jsonl
check "the text was cached as a shard in RUN/data" ls $R/data/keeper.txt.*.bin

read first_loss last_loss val0 valN <<<$($PY - "$R/log.jsonl" "$STEPS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tr = [r for r in rows if r["type"] == "train"]
va = [r for r in rows if r["type"] == "val"]
n = int(sys.argv[2])
print(tr[0]["loss"], sum(r["loss"] for r in tr[-10:]) / 10, va[0]["loss"], [r for r in va if r["step"] == n][0]["loss"])
PY
)
if [ "$SAN" = 1 ]; then MARGIN=0.5; else MARGIN=1.5; fi
check "training loss falls by more than $MARGIN nats ($first_loss -> $last_loss)" $PY -c "import sys; sys.exit(not ($first_loss - $last_loss > $MARGIN))"
if [ "$SAN" = 1 ]; then VMARGIN=0.3; else VMARGIN=1.0; fi
check "validation loss falls by more than $VMARGIN nats ($val0 -> $valN)" $PY -c "import sys; sys.exit(not ($val0 - $valN > $VMARGIN))"
check_eq "log.jsonl: one train line per step" "$STEPS" "$(grep -c '"type":"train"' $R/log.jsonl)"

# Each checkpoint scores the held-out tail to the loss log.jsonl recorded at its step.
nval=$($PY -c "import json; print(json.load(open('$R/checkpoint-$STEPS/trainer_state.json'))['sources'][0]['val_tokens'])")
ids=$($PY - $R/data/keeper.txt.*.bin $nval <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<256i", b[:1024])[2]
toks = struct.unpack("<%dH" % n, b[1024:1024 + 2 * n])
print(",".join(map(str, toks[n - int(sys.argv[2]):])))
PY
)
bad=0
for s in $(seq $EVERY $EVERY $STEPS); do
  logged=$($PY -c "import json; print([r['loss'] for r in map(json.loads, open('$R/log.jsonl')) if r['type']=='val' and r['step']==$s][0])")
  scored=$($PAL score --model $R/checkpoint-$s --ids "$ids" --json 2>/dev/null | $PY -c "import json,sys; print(json.load(sys.stdin)['loss'])")
  $PY -c "import sys; sys.exit(not abs($logged - $scored) < 1e-4)" || { bad=1; echo "    step $s: logged $logged, scored $scored"; }
done
check_eq "the held-out tail is 60 tokens" 60 "$nval"
check "every checkpoint loads and scores its held-out text to the logged validation loss" test $bad = 0
check "trainer_state.json: step, loss history, rng, data position" $PY -c "
import json; s = json.load(open('$R/checkpoint-$EVERY/trainer_state.json'))
assert s['step'] == $EVERY and len(s['loss_history']) == $EVERY and len(s['rng']) == 4
assert s['active_source'] == 'keeper.txt' and s['source_at_step'] == [0] * $EVERY and 'position' in s['data_position'][0]"

# ---- Curriculum: A for 3 steps, B for 3, cycling; then explicit spans 2,4.
C=$TMP/cur
$PAL train --model $TMP/m --data $FX/keeper.txt $FX/inventory.txt --out $C --steps 12 --batch 2 --seq 32 \
   --curriculum --save-every 3 --val-fraction 0.05 --quiet >/dev/null 2>&1
swaps=$(grep '"type":"swap"' $C/log.jsonl | $PY -c "import json,sys; print(' '.join('%d:%s' % (r['step'], r['source']) for r in map(json.loads, sys.stdin)))")
check_eq "curriculum swaps at every save, cycling" "1:keeper.txt 4:inventory.txt 7:keeper.txt 10:inventory.txt" "$swaps"
check_eq "trainer_state.json records the source of every step" "[0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]" \
  "$($PY -c "import json; print(json.load(open('$C/checkpoint-12/trainer_state.json'))['source_at_step'])")"
check_eq "train lines name the source of each step" "keeper.txt inventory.txt" \
  "$($PY -c "import json; r=[x for x in map(json.loads, open('$C/log.jsonl')) if x['type']=='train']; print(r[2]['source'], r[3]['source'])")"
check_eq "validation is logged per source at each save" "2" "$(grep '"type":"val","step":6,' $C/log.jsonl | wc -l)"
$PAL train --model $TMP/m --data $FX/keeper.txt $FX/inventory.txt --out $TMP/cur2 --steps 8 --batch 2 --seq 32 \
   --curriculum --curriculum-steps 2,4 --save-every 4 --quiet >/dev/null 2>&1
check_eq "--curriculum-steps 2,4 gives each source its span" "[0, 0, 1, 1, 1, 1, 0, 0]" \
  "$($PY -c "import json; print(json.load(open('$TMP/cur2/checkpoint-8/trainer_state.json'))['source_at_step'])")"
# Without --curriculum: each step draws a source (seeded), both appear.
$PAL train --model $TMP/m --data $FX/keeper.txt $FX/inventory.txt --out $TMP/mix --steps 10 --batch 2 --seq 32 --save-every 0 --quiet >/dev/null 2>&1
check "several sources without --curriculum: both are drawn" $PY -c "
import json; s = json.load(open('$TMP/mix/checkpoint-10/trainer_state.json'))['source_at_step']; assert 0 in s and 1 in s"
$PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/k2 --steps 6 --batch 2 --seq 32 --save-every 2 --keep 2 --quiet >/dev/null 2>&1
check_eq "--keep 2 keeps the newest two checkpoints" "checkpoint-4 checkpoint-6" "$(ls $TMP/k2 | grep '^checkpoint-' | sort -t- -k2 -n | tr '\n' ' ' | sed 's/ $//')"

# Text and a .bin shard of the same text train the same model; --val-every logs in between.
$PAL encode --model $TMP/m $FX/keeper.txt -o $TMP/keeper.bin >/dev/null 2>&1
SQ="--model $TMP/m --batch 2 --seq 32 --steps 4 --save-every 0 --order sequential --val-every 2 --quiet"
$PAL train $SQ --data $FX/keeper.txt --out $TMP/txt >/dev/null 2>&1
$PAL train $SQ --data $TMP/keeper.bin --out $TMP/bin >/dev/null 2>&1
check "a .bin shard and its text give bitwise the same model" cmp $TMP/txt/checkpoint-4/model.safetensors $TMP/bin/checkpoint-4/model.safetensors
check_eq "--val-every 2 validates at steps 0, 2, 4" "0 2 4" "$(grep '"type":"val"' $TMP/bin/log.jsonl | sed 's/.*"step":\([0-9]*\).*/\1/' | tr '\n' ' ' | sed 's/ $//')"

# --freeze embeddings: wte, wpe and ln_f keep their bytes, every block moves.
$PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/frz --batch 2 --seq 32 --steps 3 --save-every 0 --freeze embeddings --quiet >/dev/null 2>&1
check "--freeze embeddings trains only the blocks" $PY - $TMP/m/model.safetensors $TMP/frz/checkpoint-3/model.safetensors <<'PY'
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: b[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]] for k, v in h.items()}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert set(a) == set(b), "same tensors"
for k in a:
    frozen = not k.startswith("h.")
    assert (a[k] == b[k]) == frozen, k
PY

# ---- Bad input: one-line errors before any work.
check_fails "--seq above n_positions" "n_positions \(64\)" $PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/bad1 --seq 65
check "nothing written for a refused run" test ! -e $TMP/bad1
printf 'too short' > $TMP/short.txt
check_fails "data shorter than one batch" "short.txt: .*shorter than one batch" $PAL train --model $TMP/m --data $TMP/short.txt --out $TMP/bad2 --seq 32
mkdir -p $TMP/bigtok && cp $TMP/m/config.json $TMP/m/model.safetensors $TMP/bigtok/ && cp data/tokenizer/gpt2/* $TMP/bigtok/
check_fails "a tokenizer larger than the model's vocabulary" "50257 tokens, more than the model's vocab_size 300" \
  $PAL train --model $TMP/bigtok --data $FX/keeper.txt --out $TMP/bad3 --seq 32 --steps 2
check_fails "an output folder holding a different run" "already holds a different run" \
  $PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/k2 --steps 6 --batch 2 --seq 32 --save-every 2 --lr 1e-3
check_fails "the same run again without --resume" "already holds this run; continue it with: palimpsest train --resume" \
  $PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/k2 --steps 6 --batch 2 --seq 32 --save-every 2 --keep 2
check_fails "--resume refuses new data" "--data cannot change on --resume" $PAL train --resume $TMP/k2 $FX/inventory.txt
check_fails "--resume refuses a changed setting" "--lr cannot change on --resume" $PAL train --resume $TMP/k2 --lr 1
check_fails "unknown --order" "not shuffled or sequential" $PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/bad4 --order random
check_fails "unknown --precision" "'fp16' is not a precision \\(fp32 or bf16\\)" $PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/bad5 --precision fp16
# --precision bf16: refused in one line naming the feature where the CPU lacks AVX512_BF16; it
# trains there with PAL_BF16_PORTABLE=1 (the portable kernel) and everywhere else without it.
if ! grep -qw avx512_bf16 /proc/cpuinfo; then
  out=$($PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/bf --steps 4 --precision bf16 2>&1); rc=$?
  check "train --precision bf16 is refused without AVX512_BF16: one line naming the feature" \
    bash -c "[ $rc -ne 0 ] && [ \$(printf '%s\n' \"\$0\" | wc -l) = 1 ] && printf '%s' \"\$0\" | grep -q 'needs avx512_bf16, which this CPU'" "$out"
  check "nothing written for the refused bf16 run" test ! -e $TMP/bf
  export PAL_BF16_PORTABLE=1
fi
for p in fp32 bf16; do
  $PAL train --model $TMP/m --data $FX/keeper.txt --out $TMP/p_$p --steps 12 --batch 2 --seq 32 --save-every 12 \
    --lr 3e-3 --warmup 2 --val-fraction 0.2 --precision $p --quiet >/dev/null 2>&1
done
unset PAL_BF16_PORTABLE
check "a bf16 run records --precision bf16 in run.json" grep -q '"--precision", *"bf16"' $TMP/p_bf16/run.json
check "an fp32 run records no --precision (fingerprints of older runs unchanged)" bash -c "! grep -q precision $TMP/p_fp32/run.json"
check "bf16's loss after 12 steps is fp32's within 2%" python3 - $TMP/p_fp32/log.jsonl $TMP/p_bf16/log.jsonl <<'PY'
import json, sys
last = [[r["loss"] for r in map(json.loads, open(f)) if r.get("type") == "train"][-1] for f in sys.argv[1:]]
print("#", last)
sys.exit(not (abs(last[1] - last[0]) <= 0.02 * last[0]))
PY
check_fails "--curriculum-steps count must match" "3 spans for 2" \
  $PAL train --model $TMP/m --data $FX/keeper.txt $FX/inventory.txt --out $TMP/bad5 --curriculum --curriculum-steps 1,2,3 --seq 32
check "--help lists the defaults" sh -c "$PAL train --help | grep -q 'default 1e-4'"
done_tests
