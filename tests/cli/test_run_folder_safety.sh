#!/usr/bin/env bash
# test_run_folder_safety.sh: a run folder shared with other processes and odd entries: one
# writer at a time (an flock on RUN/.lock, refused with the holder's pid, released by the
# kernel on kill -9; readers never need it), deletion never follows a symlink (nothing
# outside RUN is removed), and --keep rotation never shows a half-removed checkpoint.
. tests/lib.sh
FX=tests/fixtures/train
export OMP_NUM_THREADS=1

tiny_model $FX/keeper.txt
check "a tiny model is initialised" test -f $TMP/m/model.safetensors
COMMON="--model $TMP/m --data $FX/keeper.txt --batch 2 --seq 16 --lr-schedule constant --warmup 0 --quiet"

# ---- One writer: a second `train --resume` while the first trains is refused with its pid.
R=$TMP/lock
$PAL train $COMMON --out $TMP/done --steps 2 --save-every 2 >/dev/null 2>&1
check "a finished run has checkpoint-2" test -s $TMP/done/checkpoint-2/trainer_state.json
$PAL train $COMMON --out $R --steps 1000000 --save-every 1000000 2>$TMP/first.err &
pid=$!
for i in $(seq 1 600); do n=$(grep -c '"type":"train"' $R/log.jsonl 2>/dev/null); [ "${n:-0}" -ge 5 ] && break; sleep 0.05; done
out=$(timeout 20 $PAL train --resume $R --steps 1000000 2>&1); rc=$?
check "a second writer is refused" test $rc -ne 0 -a $rc -ne 124
check_eq "its error is one line" 1 "$(printf '%s\n' "$out" | wc -l)"
check "it names the first writer's pid" sh -c "printf '%s' '$out' | grep -q 'pid $pid'"
check "it names the lock file" sh -c "printf '%s' '$out' | grep -q '$R/.lock'"
check_fails "a second new run in the same folder is refused too" "already holds this run|another writer" $PAL train $COMMON --out $R --steps 1000000 --save-every 1000000
cp -r $TMP/done/checkpoint-2 $R/
check "a reader needs no lock (score reads a checkpoint of the locked run)" $PAL score --model $R/checkpoint-2 --ids 1,2,3
rm -rf $R/checkpoint-2
kill -9 $pid; wait $pid 2>/dev/null
check "the kernel released the lock of the killed writer: resume works" $PAL train --resume $R --steps 4 --quiet
check "the resumed run finished" test -s $R/checkpoint-4/trainer_state.json
check_eq "its log holds each step once" 4 "$(grep -c '"type":"train"' $R/log.jsonl)"

# ---- Symlinks in RUN are removed as links: nothing outside RUN is ever deleted.
S=$TMP/links
$PAL train $COMMON --out $S --steps 2 --save-every 2 >/dev/null 2>&1
cp -r $S/checkpoint-2 $TMP/outside
cp -r $TMP/outside $TMP/outside.copy
mkdir $TMP/outside2 && echo precious > $TMP/outside2/file
ln -s $TMP/outside $S/checkpoint-1
ln -s $TMP/outside2 $S/checkpoint-3.tmp.999
ln -s $TMP/outside2/file $S/checkpoint-5.tmp.998
check "resume with --keep 1 over symlinked entries succeeds" $PAL train --resume $S --steps 4 --keep 1 --quiet
check "the folder a symlinked checkpoint pointed to is untouched" diff -r $TMP/outside.copy $TMP/outside
check "the folder a symlinked temporary pointed to is untouched" test "$(cat $TMP/outside2/file)" = precious
check "the rotated symlink itself is gone" test ! -L $S/checkpoint-1 -a ! -e $S/checkpoint-1
check "the symlinked temporaries are gone (as links)" sh -c "! ls -d $S/*.tmp* 2>/dev/null"
check_eq "only checkpoint-4 is kept" "checkpoint-4" "$(ls $S | grep '^checkpoint-')"

# ---- --keep rotation: a checkpoint leaves the listed names whole (renamed out, then removed).
# The test hook PAL_TEST_REMOVE_PAUSE_MS sleeps after each file a removal unlinks; a reader
# loop meanwhile checks that every checkpoint-N folder it sees is whole; then kill -9 in the
# middle of a removal.
K=$TMP/keep
whole() { for f in config.json model.safetensors optimizer.safetensors trainer_state.json; do [ -e "$1/$f" ] || return 1; done; }
reader() {
  bad=0
  while [ ! -e $TMP/stop_reader ]; do
    for d in $K/checkpoint-*; do
      case $d in *.tmp*) continue;; esac
      [ -d "$d" ] || continue
      whole "$d" || { [ -d "$d" ] && bad=$((bad + 1)); }
    done
  done
  echo $bad > $TMP/reader.bad
}
reader &
rpid=$!
PAL_TEST_REMOVE_PAUSE_MS=150 $PAL train $COMMON --out $K --steps 1000 --save-every 1 --keep 2 >/dev/null 2>&1 &
pid=$!
half=""
for i in $(seq 1 1000); do
  for d in $K/checkpoint-*; do
    case $d in *.tmp.del.*) half=$d;; *.tmp*) ;; *) [ -d "$d" ] && ! whole "$d" && [ -d "$d" ] && half=$d;; esac
  done
  [ -n "$half" ] && break
  sleep 0.02
done
kill -9 $pid; wait $pid 2>/dev/null
touch $TMP/stop_reader; wait $rpid
check "killed in the middle of a rotation (${half##*/})" test -n "$half"
incomplete=0
for d in $K/checkpoint-*; do case $d in *.tmp*) ;; *) whole "$d" || incomplete=$((incomplete + 1));; esac; done
check_eq "after the kill every listed checkpoint is whole" 0 "$incomplete"
check_eq "the concurrent reader never saw a half-removed checkpoint" 0 "$(cat $TMP/reader.bad)"
last=$(ls $K | grep '^checkpoint-[0-9]*$' | sort -t- -k2 -n | tail -1)
check "the newest checkpoint loads" $PAL score --model $K/$last --ids 1,2,3
check "resume after the kill works" env PAL_TEST_REMOVE_PAUSE_MS=0 $PAL train --resume $K --steps $(( ${last#checkpoint-} + 2 )) --quiet
check "it removed the leftovers of the rotation" sh -c "! ls -d $K/*.tmp* 2>/dev/null"
check_eq "and kept two checkpoints" 2 "$(ls $K | grep -c '^checkpoint-[0-9]*$')"

done_tests
