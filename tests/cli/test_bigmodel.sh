#!/usr/bin/env bash
# test_bigmodel.sh: the training flags that let 774M and 1558M fit (docs/PARTS/train.md
# "Larger models"), end to end on a tiny model: --recompute trains bitwise the same model;
# --freeze keeps frozen tensors' bytes and saves no optimizer state for them; --optimizer
# adafactor saves its factored statistics and resumes bitwise; --plan prints the memory and
# stops, and a run that cannot fit is refused in one line before anything is written.
. tests/lib.sh
FX=tests/fixtures/train
export OMP_NUM_THREADS=2
$PAL tokenizer train --vocab-size 300 $FX/keeper.txt --out $TMP/tok >/dev/null 2>&1
$PAL init --config n_layer=3,n_head=2,n_embd=32,n_ctx=64,vocab_size=300 --tokenizer $TMP/tok --out $TMP/m --seed 1 >/dev/null 2>&1
check "a tiny model is initialised" test -f $TMP/m/model.safetensors
T="--model $TMP/m --data $FX/keeper.txt --batch 2 --seq 32 --steps 3 --save-every 0 --lr 3e-3 --dropout 0.1 --quiet"

# ---- --recompute: the same checkpoint, bitwise; run.json records it; a resume may add it.
$PAL train $T --out $TMP/plain >/dev/null 2>&1
$PAL train $T --out $TMP/re --recompute >/dev/null 2>&1
check "--recompute trains bitwise the same weights" cmp $TMP/plain/checkpoint-3/model.safetensors $TMP/re/checkpoint-3/model.safetensors
check "--recompute: the same optimizer state" cmp $TMP/plain/checkpoint-3/optimizer.safetensors $TMP/re/checkpoint-3/optimizer.safetensors
check "run.json records --recompute" grep -q '"--recompute"' $TMP/re/run.json
$PAL train --resume $TMP/plain --steps 5 --recompute --quiet >/dev/null 2>&1; rc=$?
check_eq "a resume may switch --recompute on (it changes no number)" 0 "$rc"

# ---- --freeze embeddings,layers:0-1: only block 2 trains; no moments saved for the rest.
$PAL train $T --out $TMP/frz --freeze embeddings,layers:0-1 >/dev/null 2>&1
check "--freeze embeddings,layers:0-1: frozen bytes kept, block 2 moved, no state for frozen tensors" python3 - $TMP/m/model.safetensors $TMP/frz/checkpoint-3 <<'PY'
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: b[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]] for k, v in h.items()}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2] + "/model.safetensors")
o = tensors(sys.argv[2] + "/optimizer.safetensors")
for k in a:
    trains = k.startswith("h.2.")
    assert (a[k] != b[k]) == trains, k
    assert (("m." + k) in o and ("v." + k) in o) == trains, k
assert len(o) == 24, len(o)
PY
$PAL train $T --out $TMP/frz2 --freeze embeddings,layers:0-1 --steps 2 >/dev/null 2>&1
$PAL train --resume $TMP/frz2 --steps 3 --quiet >/dev/null 2>&1
check "a frozen run resumes exactly (its moments load back)" cmp $TMP/frz/checkpoint-3/model.safetensors $TMP/frz2/checkpoint-3/model.safetensors
check_fails "--freeze: a layer past the model" "train: --freeze: layers:2-3 names layer 3, but the model has layers 0-2" \
  $PAL train $T --out $TMP/bad --freeze layers:2-3
check_fails "--freeze: a glob that matches nothing" "'h.\*.mpl.\*' matches no tensor" $PAL train $T --out $TMP/bad --freeze 'h.*.mpl.*'
check "nothing written for a refused run" test ! -e $TMP/bad

# ---- --optimizer adafactor: factored statistics saved; 2 steps + resume to 4 = 4 straight.
$PAL train $T --steps 4 --out $TMP/af --optimizer adafactor >/dev/null 2>&1
$PAL train $T --steps 2 --out $TMP/af2 --optimizer adafactor >/dev/null 2>&1
$PAL train --resume $TMP/af2 --steps 4 --quiet >/dev/null 2>&1
check "adafactor: resumed from step 2, step 4 is bitwise the straight run's" cmp $TMP/af/checkpoint-4/model.safetensors $TMP/af2/checkpoint-4/model.safetensors
check "adafactor: and so is its state" cmp $TMP/af/checkpoint-4/optimizer.safetensors $TMP/af2/checkpoint-4/optimizer.safetensors
check "adafactor: moves the weights differently from adamw" bash -c "! cmp -s $TMP/af/checkpoint-4/model.safetensors $TMP/plain/checkpoint-3/model.safetensors"
check "adafactor: optimizer.safetensors holds vr/vc per matrix, v per vector, and names the optimizer" python3 - $TMP/af/checkpoint-4/optimizer.safetensors <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
meta = h.pop("__metadata__")
assert meta["optimizer"] == "adafactor" and meta["step"] == "4", meta
assert h["vr.wte.weight"]["shape"] == [300] and h["vc.wte.weight"]["shape"] == [32], h["vr.wte.weight"]
assert h["vr.h.1.mlp.c_fc.weight"]["shape"] == [32] and h["vc.h.1.mlp.c_fc.weight"]["shape"] == [128]
assert h["v.h.0.ln_1.weight"]["shape"] == [32] and not any(k.startswith("m.") for k in h)
assert len(h) == 2 + 2 + 3 * (4 * 2 + 8) + 2, len(h)
PY
check "run.json records --optimizer adafactor" grep -q '"adafactor"' $TMP/af/run.json
check "run.json of an adamw run does not name the optimizer (old runs keep their fingerprint)" bash -c "! grep -q optimizer $TMP/plain/run.json"
check_fails "--optimizer: an unknown name" "'sgd' is not adamw or adafactor" $PAL train $T --out $TMP/bad --optimizer sgd

# ---- --plan and the refusal (PAL_TEST_MEM_AVAILABLE stands in for /proc/meminfo's figure).
out=$($PAL train $T --out $TMP/planned --plan 2>&1); rc=$?
check_eq "--plan exits 0 when the run fits" 0 "$rc"
check "--plan prints weights, gradients, optimizer, activations and the total against MemAvailable" \
  bash -c "printf '%s' \"\$1\" | grep -q 'weights' && printf '%s' \"\$1\" | grep -q 'gradients' && printf '%s' \"\$1\" | grep -q 'optimizer' && printf '%s' \"\$1\" | grep -q 'activations' && printf '%s' \"\$1\" | grep -q 'MemAvailable): fits'" _ "$out"
check "--plan writes nothing" test ! -e $TMP/planned
out=$(PAL_TEST_MEM_AVAILABLE=1000000 $PAL train $T --out $TMP/planned --plan 2>&1); rc=$?
check_eq "--plan exits 1 when it does not fit" "1:1" "$rc:$(printf '%s' "$out" | grep -c 'does NOT fit')"
check_fails "a run that cannot fit is refused: one line, the figure and MemAvailable" \
  "^palimpsest: train: this run needs 0\.[0-9]+ GB \(weights .*\) but MemAvailable is 0\.00 GB; see train --plan" \
  env PAL_TEST_MEM_AVAILABLE=1000000 $PAL train $T --out $TMP/refused
check "the refused run wrote nothing" test ! -e $TMP/refused
check_eq "the refusal is one line" 1 "$(PAL_TEST_MEM_AVAILABLE=1000000 $PAL train $T --out $TMP/refused 2>&1 | wc -l)"
check_fails "a batch no machine holds is refused on the real MemAvailable, not by the OOM killer" "needs [0-9.]+ GB .* but MemAvailable is" \
  $PAL train $T --out $TMP/refused --batch 2000000

done_tests
