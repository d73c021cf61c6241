#!/usr/bin/env bash
# test_train_faults.sh: the run folder under stress: resume gives bitwise the parameters of an
# uninterrupted run (also after Ctrl-C), SIGINT saves and exits 130, kill -9 in the middle of a
# save leaves earlier checkpoints loadable and no half-written final name, a full disk
# (injected) keeps earlier checkpoints, a diverging run stops and names the step.
. tests/lib.sh
FX=tests/fixtures/train
PY=python3
export OMP_NUM_THREADS=2

$PAL tokenizer train --vocab-size 300 $FX/keeper.txt $FX/inventory.txt --out $TMP/tok >/dev/null 2>&1
$PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=64,vocab_size=300 --tokenizer $TMP/tok --out $TMP/m --seed 1 >/dev/null 2>&1
check "a tiny model is initialised" test -f $TMP/m/model.safetensors
COMMON="--model $TMP/m --data $FX/keeper.txt $FX/inventory.txt --batch 2 --seq 32 --save-every 4 --dropout 0.1 --quiet"

# ---- Resume equality: 12 steps straight vs 4 + resume to 12 (shuffled order, two sources, dropout).
$PAL train $COMMON --out $TMP/a --steps 12 >/dev/null 2>&1
$PAL train $COMMON --out $TMP/b --steps 4 >/dev/null 2>&1
check "the short run stopped at checkpoint-4" test -d $TMP/b/checkpoint-4 -a ! -d $TMP/b/checkpoint-8
$PAL train --resume $TMP/b --steps 12 >/dev/null 2>&1
check_eq "resume continues to the end" 0 $?
check "resumed parameters are bitwise those of the uninterrupted run" cmp $TMP/a/checkpoint-12/model.safetensors $TMP/b/checkpoint-12/model.safetensors
check "resumed optimizer moments are bitwise equal too" cmp $TMP/a/checkpoint-12/optimizer.safetensors $TMP/b/checkpoint-12/optimizer.safetensors
check "checkpoint-8 (written by the resumed run) equals the uninterrupted one" cmp $TMP/a/checkpoint-8/model.safetensors $TMP/b/checkpoint-8/model.safetensors
check_eq "log.jsonl of the resumed run has each step once" "12" "$(grep -c '"type":"train"' $TMP/b/log.jsonl)"
check_eq "a finished run says so on --resume" 0 "$($PAL train --resume $TMP/a >/dev/null 2>&1; echo $?)"

# Sequential order and grad-accum resume the same way.
SEQ="--model $TMP/m --data $FX/keeper.txt --batch 2 --seq 16 --grad-accum 2 --order sequential --save-every 3 --quiet"
$PAL train $SEQ --out $TMP/s1 --steps 9 >/dev/null 2>&1
$PAL train $SEQ --out $TMP/s2 --steps 3 >/dev/null 2>&1
$PAL train --resume $TMP/s2 --steps 9 >/dev/null 2>&1
check "sequential + grad-accum: resume is bitwise equal" cmp $TMP/s1/checkpoint-9/model.safetensors $TMP/s2/checkpoint-9/model.safetensors

# A damaged checkpoint or changed data is refused on resume, naming the file.
cp $FX/keeper.txt $TMP/k.txt
$PAL train --model $TMP/m --data $TMP/k.txt --batch 2 --seq 32 --steps 2 --save-every 2 --out $TMP/dmg --quiet >/dev/null 2>&1
cp -r $TMP/dmg $TMP/dmg2
printf '{"step": ' > $TMP/dmg/checkpoint-2/trainer_state.json
check_fails "a damaged trainer_state.json is refused" "checkpoint-2/trainer_state.json: not valid JSON" $PAL train --resume $TMP/dmg --steps 4
echo "one more line of text" >> $TMP/k.txt
check_fails "changed data is refused on resume" "k.txt had [0-9]+ tokens, now [0-9]+ \(the data changed\)" $PAL train --resume $TMP/dmg2 --steps 4

# ---- SIGINT: finish the step, save, exit 130, say how to resume; resuming then matches an
# uninterrupted run (constant lr, so the total --steps does not enter the schedule).
BIG="--model $TMP/m --data $FX/keeper.txt --batch 2 --seq 32 --save-every 100000 --lr-schedule constant --warmup 0 --quiet"
$PAL train $BIG --out $TMP/int --steps 100000 2>$TMP/int.err &
pid=$!
for i in $(seq 1 400); do [ -s $TMP/int/log.jsonl ] && [ "$(grep -c '"train"' $TMP/int/log.jsonl)" -ge 5 ] && break; sleep 0.05; done
kill -INT $pid
wait $pid; rc=$?
check_eq "SIGINT exits 130" 130 "$rc"
check "SIGINT says how to resume" grep -q "palimpsest train --resume $TMP/int" $TMP/int.err
n=$(ls $TMP/int | grep -c '^checkpoint-[0-9]*$')
stepn=$(ls $TMP/int | grep '^checkpoint-[0-9]*$' | head -1 | sed 's/checkpoint-//')
check_eq "SIGINT saved one checkpoint" 1 "$n"
check_eq "its step is the last logged step" "$stepn" "$(grep '"type":"train"' $TMP/int/log.jsonl | tail -1 | sed 's/.*"step":\([0-9]*\).*/\1/')"
end=$((stepn + 3))
$PAL train --resume $TMP/int --steps $end >/dev/null 2>&1
$PAL train $BIG --out $TMP/full --steps $end >/dev/null 2>&1
check "after SIGINT + resume the parameters equal the uninterrupted run's" cmp $TMP/full/checkpoint-$end/model.safetensors $TMP/int/checkpoint-$end/model.safetensors

# ---- kill -9 in the middle of a save (the test hook pauses between files).
K=$TMP/kill
PAL_TEST_SAVE_PAUSE_MS=400 $PAL train --model $TMP/m --data $FX/keeper.txt --batch 2 --seq 32 --save-every 2 --steps 8 --out $K --quiet >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 1000); do ls $K 2>/dev/null | grep -q '^checkpoint-4\.tmp' && break; sleep 0.02; done
kill -9 $pid; wait $pid 2>/dev/null
check "killed while checkpoint-4 was being written" ls -d $K/checkpoint-4.tmp.*
check "no half-written checkpoint-4 under its final name" test ! -e $K/checkpoint-4
check "the earlier checkpoint is complete" test -s $K/checkpoint-2/trainer_state.json
check "the earlier checkpoint loads and scores" $PAL score --model $K/checkpoint-2 --ids 1,2,3,4
$PAL train --resume $K --quiet >/dev/null 2>&1
check "resume after kill -9 finishes" test -s $K/checkpoint-8/trainer_state.json
check "resume removed the half-written temporary" sh -c "! ls -d $K/*.tmp* 2>/dev/null"

# ---- A full disk (injected) during the second save: the first stays intact.
F=$TMP/full_disk
$PAL train --model $TMP/m --data $FX/keeper.txt --batch 2 --seq 32 --save-every 2 --steps 2 --out $TMP/sizer --quiet >/dev/null 2>&1
ck=$(du -sb $TMP/sizer/checkpoint-2 | cut -f1)
total=$(( $(du -sb $TMP/sizer | cut -f1) - $(stat -c %s $TMP/sizer/log.jsonl) ))
PAL_FAIL_WRITE_AFTER=$(( total + ck / 2 )) $PAL train --model $TMP/m --data $FX/keeper.txt --batch 2 --seq 32 \
   --save-every 2 --steps 6 --out $F --quiet 2>$TMP/disk.err; rc=$?
check "a failed save exits non-zero" test $rc -ne 0
check "the error names the write failure" grep -q "injected" $TMP/disk.err
check "the previous checkpoint is intact" cmp $TMP/sizer/checkpoint-2/model.safetensors $F/checkpoint-2/model.safetensors
check "no checkpoint-4 and no temporary left" sh -c "test ! -e $F/checkpoint-4 && ! ls -d $F/*.tmp* 2>/dev/null"

# ---- A non-finite loss: stop, name the step and the last good checkpoint, exit non-zero.
# The test hook PAL_TEST_NAN_AT_STEP makes step 5's loss read NaN.
PAL_TEST_NAN_AT_STEP=5 $PAL train --model $TMP/m --data $FX/keeper.txt --batch 2 --seq 32 --save-every 2 --steps 10 \
   --out $TMP/nan0 --quiet 2>$TMP/nan0.err; rc=$?
check_eq "a NaN loss exits 1" 1 "$rc"
check "the error names step 5 and checkpoint-4" grep -qE "step 5: the loss is nan; stopped, the last good checkpoint is .*/nan0/checkpoint-4" $TMP/nan0.err
check_eq "no checkpoint after the failure" "checkpoint-2 checkpoint-4" "$(ls $TMP/nan0 | grep '^checkpoint-' | sort -t- -k2 -n | tr '\n' ' ' | sed 's/ $//')"
check "the last good checkpoint loads" $PAL score --model $TMP/nan0/checkpoint-4 --ids 1,2,3
# A real divergence: a huge learning rate (also under UBSan: NaN must flow through every
# kernel without undefined behaviour).
if true; then
  $PAL train --model $TMP/m --data $FX/keeper.txt --batch 2 --seq 32 --save-every 1 --steps 20 --lr 1e30 --warmup 0 \
     --grad-clip 0 --out $TMP/nan --quiet 2>$TMP/nan.err; rc=$?
  check "a diverging run exits non-zero" test $rc -ne 0 -a $rc -ne 130
  check "it names the step and the last good checkpoint" grep -qE "step [0-9]+: the (loss|gradient norm) is (nan|infinite).*last good checkpoint is .*checkpoint-[0-9]+" $TMP/nan.err
  last=$(grep -oE 'checkpoint-[0-9]+' $TMP/nan.err | tail -1)
  # it loads (its weights are finite); at lr 1e30 they are so large that its loss may be NaN,
  # which score reports as an error of its own: what counts is that the load succeeds
  check "its last good checkpoint loads" sh -c "$PAL score --model $TMP/nan/$last --ids 1,2,3 2>/dev/null | grep -q '^ids: loss'"
fi
done_tests
