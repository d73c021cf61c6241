#!/usr/bin/env bash
# test_io_faults.sh: the I/O layer's injected failure (PAL_IO_FAIL_AT=N: the Nth open, write,
# fsync, rename, unlink, mkdir or rmdir of the process fails with EIO), looped over every call
# of a resumed tiny run that saves a checkpoint and rotates the previous one (--keep 1). Each
# time: a failed run exits non-zero with one clear line naming the file, no earlier checkpoint
# is damaged (bitwise), every listed checkpoint is whole, and a plain resume then ends
# bitwise equal to the run that never failed. Then every call of a new run's start (RUN, lock,
# token cache, run.json): the same command or a resume goes on. (Sanitizers: every 8th call.)
. tests/lib.sh
FX=tests/fixtures/train
export OMP_NUM_THREADS=1

tiny_model $FX/keeper.txt
$PAL train --model $TMP/m --data $FX/keeper.txt --batch 2 --seq 16 --steps 2 --save-every 2 --out $TMP/base --quiet >/dev/null 2>&1
check "the base run has checkpoint-2" test -s $TMP/base/checkpoint-2/trainer_state.json
RESUME="--steps 4 --keep 1 --quiet"

cp -r $TMP/base $TMP/ref
PAL_IO_RECORD=$TMP/rec $PAL train --resume $TMP/ref $RESUME >/dev/null 2>&1
check "the reference resume reaches checkpoint-4" test -s $TMP/ref/checkpoint-4/trainer_state.json
check "and rotated checkpoint-2 away" test ! -e $TMP/ref/checkpoint-2
total=$(tail -1 $TMP/rec | cut -f1)
kinds=$(cut -f2 $TMP/rec | sort -u | tr '\n' ' ')
check "the record holds every kind of call ($kinds)" sh -c "echo '$kinds' | grep -q 'fsync mkdir open rename rmdir unlink write'"
check "the run makes over 50 calls ($total)" test "$total" -gt 50

whole() { for f in config.json model.safetensors optimizer.safetensors trainer_state.json; do [ -s "$1/$f" ] || return 1; done; }
stride=1; [ "${PAL_SANITIZED:-0}" = 1 ] && stride=8
bad_msg=0; damaged=0; incomplete=0; no_resume=0; unequal=0; failed=0; tried=0
for n in $(seq 1 $stride $((total + 3))); do
  W=$TMP/w; rm -rf $W; cp -r $TMP/base $W
  tried=$((tried + 1))
  PAL_IO_FAIL_AT=$n $PAL train --resume $W $RESUME >/dev/null 2>$TMP/err; rc=$?
  call=$(awk -F'\t' -v n=$n '$1 == n {print $2 " " $8; exit}' $TMP/rec)
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1))
    if [ "$(wc -l < $TMP/err)" -ne 1 ] || ! grep -qE '^palimpsest: .*/.*Input/output error' $TMP/err; then
      bad_msg=$((bad_msg + 1)); echo "# call $n ($call): unclear error: $(head -c 300 $TMP/err)"
    fi
  fi
  if [ -e $W/checkpoint-2 ] && ! { cmp -s $W/checkpoint-2/model.safetensors $TMP/base/checkpoint-2/model.safetensors &&
       cmp -s $W/checkpoint-2/optimizer.safetensors $TMP/base/checkpoint-2/optimizer.safetensors &&
       cmp -s $W/checkpoint-2/trainer_state.json $TMP/base/checkpoint-2/trainer_state.json; }; then
    damaged=$((damaged + 1)); echo "# call $n ($call): checkpoint-2 changed"
  fi
  for d in $W/checkpoint-*; do
    case $d in *.tmp*) continue;; esac
    [ -d $d ] || continue
    whole $d || { incomplete=$((incomplete + 1)); echo "# call $n ($call): ${d##*/} is not whole"; }
  done
  [ -e $W/checkpoint-2 ] || [ -e $W/checkpoint-4 ] || { damaged=$((damaged + 1)); echo "# call $n ($call): no checkpoint left"; }
  if ! $PAL train --resume $W $RESUME >/dev/null 2>$TMP/err2; then
    no_resume=$((no_resume + 1)); echo "# call $n ($call): resume failed: $(head -c 300 $TMP/err2)"
  elif ! cmp -s $W/checkpoint-4/model.safetensors $TMP/ref/checkpoint-4/model.safetensors ||
       ! cmp -s $W/checkpoint-4/optimizer.safetensors $TMP/ref/checkpoint-4/optimizer.safetensors ||
       [ "$(grep -c '"type":"train"' $W/log.jsonl)" != 4 ] || ls -d $W/*.tmp* >/dev/null 2>&1; then
    unequal=$((unequal + 1)); echo "# call $n ($call): after resume the run differs from the reference"
  fi
done
echo "# $tried injected failures, $failed runs failed"
check "most injected failures fail the run ($failed of $tried)" test $failed -ge $((tried / 2))
check_eq "every failed run says one clear line naming the file" 0 $bad_msg
check_eq "no earlier checkpoint damaged" 0 $damaged
check_eq "every listed checkpoint is whole" 0 $incomplete
check_eq "a plain resume works after every failure" 0 $no_resume
check_eq "and ends bitwise equal to the reference (log: each step once, no temporaries)" 0 $unequal

# ---- A new run's start (RUN, the lock, the token cache, run.json) up to its first save: every
# call failed in turn; then the same command (no run.json yet) or a resume goes on to the end.
NEW="--model $TMP/m --data $FX/keeper.txt --batch 2 --seq 16 --steps 2 --save-every 2 --quiet"
PAL_IO_RECORD=$TMP/rec_new $PAL train $NEW --out $TMP/new >/dev/null 2>&1
first_save=$(awk -F'\t' '$2 == "mkdir" && $8 ~ /checkpoint-/ {print $1; exit}' $TMP/rec_new)
check "the new run's start is $first_save calls" test "${first_save:-0}" -gt 10
bad_msg=0; no_resume=0; unequal=0; tried=0
for n in $(seq 1 $stride ${first_save:-0}); do
  W=$TMP/wn; rm -rf $W
  tried=$((tried + 1))
  PAL_IO_FAIL_AT=$n $PAL train $NEW --out $W >/dev/null 2>$TMP/err; rc=$?
  if [ $rc -ne 0 ] && { [ "$(wc -l < $TMP/err)" -ne 1 ] || ! grep -qE '^palimpsest: .*Input/output error' $TMP/err; }; then
    bad_msg=$((bad_msg + 1)); echo "# new run, call $n: unclear error: $(head -c 300 $TMP/err)"
  fi
  if [ -s $W/run.json ]; then $PAL train --resume $W --quiet >/dev/null 2>$TMP/err2; rc=$?
  else $PAL train $NEW --out $W >/dev/null 2>$TMP/err2; rc=$?; fi
  if [ $rc -ne 0 ]; then
    no_resume=$((no_resume + 1)); echo "# new run, call $n: could not go on: $(head -c 300 $TMP/err2)"
  elif ! cmp -s $W/checkpoint-2/model.safetensors $TMP/new/checkpoint-2/model.safetensors ||
       [ "$(grep -c '"type":"train"' $W/log.jsonl)" != 2 ]; then
    unequal=$((unequal + 1)); echo "# new run, call $n: differs from the uninterrupted run"
  fi
done
echo "# new run: $tried injected failures"
check_eq "new run: every failure says one clear line" 0 $bad_msg
check_eq "new run: the same command or a resume then goes on" 0 $no_resume
check_eq "new run: and ends bitwise equal" 0 $unequal
done_tests
