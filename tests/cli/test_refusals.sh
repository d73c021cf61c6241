# test_refusals.sh: inputs that used to be accepted silently (issue 17, defect 10), each now a
# one-line error naming the file: --min-lr above --lr, a negative --seed, a key given twice in
# config.json or a recipe, an empty merges.txt beside a full vocabulary, and a trainer state
# with an all-zero RNG, optimizer_step != step, or too few data positions.
. tests/lib.sh
FX=tests/fixtures/train
export OMP_NUM_THREADS=2
tiny_model $FX/keeper.txt
T="--model $TMP/m --data $FX/keeper.txt --batch 2 --seq 16 --quiet"

check_fails "--min-lr above --lr is refused" "--min-lr 0.01 is greater than --lr 0.001" $PAL train $T --out $TMP/r0 --steps 2 --lr 1e-3 --min-lr 1e-2
check "...but fine with a constant schedule (min-lr unused)" $PAL train $T --out $TMP/r1 --steps 1 --lr 1e-3 --min-lr 1e-2 --lr-schedule constant
check_fails "--seed -1 is refused" "--seed: '-1' is negative" $PAL train $T --out $TMP/r2 --steps 2 --seed -1

# config.json with a key twice
cp -r $TMP/m $TMP/dup
python3 - $TMP/dup/config.json <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().rstrip().rstrip("}")
open(p, "w").write(s + ', "n_layer": 7}\n')
PY
check_fails "config.json with a key twice is refused" "config.json: key \"n_layer\" appears twice" $PAL score --model $TMP/dup --ids 1,2

# a recipe with a key twice in one section
printf 'the sea\n' >$TMP/a.txt
printf '[mix]\noutput = %s/out.txt\n[source a]\npath = %s/a.txt\nunit = line\nunit = sentence\n' $TMP $TMP >$TMP/r.ini
check_fails "a recipe key given twice is refused" "r.ini:6: 'unit' a second time in this section" $PAL mix --recipe $TMP/r.ini
printf '[mix]\noutput = %s/out.txt\n[source a]\npath = %s/a.txt\nunit = line\n[source b]\npath = %s/a.txt\nunit = line\n' $TMP $TMP $TMP >$TMP/r2.ini
check "...the same key in two sections is fine" $PAL mix --recipe $TMP/r2.ini --quiet

# an empty merges.txt beside a full vocabulary
mkdir -p $TMP/emptymerges && cp $TMP/tok/vocab.json $TMP/emptymerges/ && : >$TMP/emptymerges/merges.txt
check_fails "an empty merges.txt is refused" "merges.txt: no merges, but the vocabulary has 43 tokens beyond the 256 bytes" \
  $PAL encode --tokenizer $TMP/emptymerges --ids $TMP/a.txt

# trainer_state.json edits, refused on resume
$PAL train $T --out $TMP/run --steps 2 --save-every 2 >/dev/null 2>&1
S=$TMP/run/checkpoint-2/trainer_state.json
check "a run with a checkpoint" test -f $S
cp $S $TMP/state.orig
edit() { python3 - $S "$1" <<'PY'
import json, sys
p, what = sys.argv[1], sys.argv[2]
j = json.load(open(p))
if what == "rng": j["rng"] = ["0", "0", "0", "0"]
if what == "ostep": j["optimizer_step"] = 5
if what == "pos": j["data_position"] = []
json.dump(j, open(p, "w"))
PY
}
edit rng
check_fails "an all-zero RNG state is refused" "trainer_state.json: the rng state is all zero" $PAL train --resume $TMP/run --steps 3 --quiet
cp $TMP/state.orig $S; edit ostep
check_fails "optimizer_step != step is refused" "trainer_state.json: optimizer_step 5 differs from step 2" $PAL train --resume $TMP/run --steps 3 --quiet
cp $TMP/state.orig $S; edit pos
check_fails "too few data positions say so (not '1 sources, this run 1')" "data_position has 0 entries for the 1 sources" \
  $PAL train --resume $TMP/run --steps 3 --quiet
cp $TMP/state.orig $S
check "the untouched state resumes" $PAL train --resume $TMP/run --steps 3 --quiet
done_tests
