#!/usr/bin/env bash
# test_crash_consistency.sh: power cuts, beyond kill -9. The I/O layer records every call of
# a resumed tiny run that saves checkpoint-4 and rotates checkpoint-2 away (PAL_IO_RECORD);
# crash_replay.py rebuilds the run folder a power cut after each call could leave (namespace
# operations in order, unsynced writes dropped). Every such folder must list only loadable
# checkpoints, and a plain resume must end bitwise equal to the uninterrupted run, with a log
# that holds each step once. The same for a new run recorded from nothing (RUN, its token
# cache, run.json, the first save).
. tests/lib.sh
FX=tests/fixtures/train
export OMP_NUM_THREADS=1

tiny_model $FX/keeper.txt
$PAL train --model $TMP/m --data $FX/keeper.txt --batch 2 --seq 16 --steps 2 --save-every 2 --out $TMP/base --quiet >/dev/null 2>&1
check "the base run has checkpoint-2" test -s $TMP/base/checkpoint-2/trainer_state.json
RESUME="--steps 4 --keep 1 --quiet"

cp -r $TMP/base $TMP/run
PAL_IO_RECORD=$TMP/rec $PAL train --resume $TMP/run $RESUME >/dev/null 2>&1
check "the recorded resume reaches checkpoint-4" test -s $TMP/run/checkpoint-4/trainer_state.json
python3 tests/cli/crash_replay.py $TMP/rec $TMP/base $TMP/run $TMP/cuts > $TMP/cuts.txt
n=$(wc -l < $TMP/cuts.txt)
check "the replay finds over 10 distinct folders a power cut could leave ($n)" test "$n" -gt 10
check "one of them holds checkpoint-4 and not checkpoint-2" sh -c "for d in \$(cat $TMP/cuts.txt); do [ -d \$d/checkpoint-4 ] && [ ! -e \$d/checkpoint-2 ] && exit 0; done; exit 1"

unloadable=0; no_resume=0; unequal=0; none=0
for S in $(cat $TMP/cuts.txt); do
  k=${S##*/}
  listed=0
  for d in $S/checkpoint-*; do
    case $d in *.tmp*) continue;; esac
    [ -d $d ] || continue
    listed=$((listed + 1))
    $PAL score --model $d --ids 1,2,3 >/dev/null 2>$TMP/err ||
      { unloadable=$((unloadable + 1)); echo "# cut after call $k: ${d##*/} does not load: $(head -c 200 $TMP/err)"; }
  done
  [ $listed -gt 0 ] || { none=$((none + 1)); echo "# cut after call $k: no checkpoint left"; }
  if ! $PAL train --resume $S $RESUME >/dev/null 2>$TMP/err; then
    no_resume=$((no_resume + 1)); echo "# cut after call $k: resume failed: $(head -c 200 $TMP/err)"
  elif ! cmp -s $S/checkpoint-4/model.safetensors $TMP/run/checkpoint-4/model.safetensors ||
       ! cmp -s $S/checkpoint-4/optimizer.safetensors $TMP/run/checkpoint-4/optimizer.safetensors ||
       [ "$(grep -c '"type":"train"' $S/log.jsonl)" != 4 ]; then
    unequal=$((unequal + 1)); echo "# cut after call $k: after resume: $(grep -c '"type":"train"' $S/log.jsonl) train lines, checkpoint-4 $(cmp -s $S/checkpoint-4/model.safetensors $TMP/run/checkpoint-4/model.safetensors && echo equal || echo differs)"
  fi
done
check_eq "every cut keeps a checkpoint" 0 $none
check_eq "every listed checkpoint of every cut loads" 0 $unloadable
check_eq "every cut resumes" 0 $no_resume
check_eq "and ends bitwise equal, each step logged once" 0 $unequal

# ---- A new run from nothing (RUN created, the token cache, run.json, the first save): a cut
# leaves no folder, a folder without run.json (then the same command starts it again) or a
# resumable run; each ends bitwise equal to the uninterrupted run.
NEW="--model $TMP/m --data $FX/keeper.txt --batch 2 --seq 16 --steps 2 --save-every 2 --quiet"
PAL_IO_RECORD=$TMP/rec2 $PAL train $NEW --out $TMP/new >/dev/null 2>&1
check "the recorded new run reaches checkpoint-2" test -s $TMP/new/checkpoint-2/trainer_state.json
python3 tests/cli/crash_replay.py $TMP/rec2 $TMP/absent $TMP/new $TMP/cuts2 > $TMP/cuts2.txt
n=$(wc -l < $TMP/cuts2.txt)
check "the replay of the new run finds over 10 distinct cuts ($n)" test "$n" -gt 10
restart_fail=0; unequal=0; unloadable=0
for S in $(cat $TMP/cuts2.txt); do
  k=${S##*/}
  for d in $S/checkpoint-*; do
    case $d in *.tmp*) continue;; esac
    [ -d $d ] || continue
    $PAL score --model $d --ids 1,2,3 >/dev/null 2>&1 || { unloadable=$((unloadable + 1)); echo "# new run, cut after call $k: ${d##*/} does not load"; }
  done
  if [ -s $S/run.json ]; then $PAL train --resume $S --quiet >/dev/null 2>$TMP/err; rc=$?
  else $PAL train $NEW --out $S >/dev/null 2>$TMP/err; rc=$?; fi
  if [ $rc -ne 0 ]; then
    restart_fail=$((restart_fail + 1)); echo "# new run, cut after call $k: could not go on: $(head -c 200 $TMP/err)"
  elif ! cmp -s $S/checkpoint-2/model.safetensors $TMP/new/checkpoint-2/model.safetensors ||
       ! cmp -s $S/checkpoint-2/optimizer.safetensors $TMP/new/checkpoint-2/optimizer.safetensors ||
       [ "$(grep -c '"type":"train"' $S/log.jsonl)" != 2 ]; then
    unequal=$((unequal + 1)); echo "# new run, cut after call $k: differs from the uninterrupted run"
  fi
done
check_eq "new run: every listed checkpoint of every cut loads" 0 $unloadable
check_eq "new run: every cut resumes or starts again" 0 $restart_fail
check_eq "new run: and ends bitwise equal, each step logged once" 0 $unequal
done_tests
