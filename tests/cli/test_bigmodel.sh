#!/usr/bin/env bash
# test_bigmodel.sh: the training flags that let 774M and 1558M fit (docs/PARTS/train.md
# "Larger models"), end to end on a tiny model: --recompute trains bitwise the same model.
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

done_tests
