# test_quantize.sh: `palimpsest quantize` (int8, bf16, f16, back to f32; the tokenizer and the
# step carried along; refusals in one line, nothing written) and the commands that read the
# folders as stored: score, sample, a run of mixed-precision checkpoints for sweep and weave.
source tests/lib.sh
lines() { printf '%s\n' "$1" | wc -l; }
check "a small model (GPT-2's tokenizer)" $PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=16 --out "$TMP/run/checkpoint-10" --seed 3
M=$TMP/run/checkpoint-10
for to in int8 bf16 f16; do
  check "quantize --to $to" $PAL quantize --model "$M" --to $to --out "$TMP/$to"
  check "$to: tokenizer copied" test -s "$TMP/$to/vocab.json" -a -s "$TMP/$to/merges.txt"
done
check "int8 stores .q8 and .scale tensors" grep -qa '"h.0.mlp.c_fc.weight.q8":{"dtype":"I8"' "$TMP/int8/model.safetensors"
check "int8 keeps LayerNorms in F32" grep -qa '"h.0.ln_1.weight":{"dtype":"F32"' "$TMP/int8/model.safetensors"
check "bf16 stores every tensor as BF16" bash -c "! grep -qa '\"dtype\":\"F32\"' $TMP/bf16/model.safetensors"
s32=$(stat -c %s "$M/model.safetensors"); s8=$(stat -c %s "$TMP/int8/model.safetensors")
check "int8 file under 40% of f32's ($s8 of $s32 bytes)" test $((s8 * 100)) -lt $((s32 * 40))
l32=$($PAL score --model "$M" --ids 1,2,3,4,5,6,7,8,9,10 --json | sed -n 's/.*"loss":\([0-9.]*\).*/\1/p')
for to in int8 bf16; do
  l=$($PAL score --model "$TMP/$to" --ids 1,2,3,4,5,6,7,8,9,10 --json | sed -n 's/.*"loss":\([0-9.]*\).*/\1/p')
  check "score reads $to ($l vs f32 $l32, within 1%)" awk -v a="$l" -v b="$l32" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= 0.01 * b) }'
done
check "back to f32" $PAL quantize --model "$TMP/int8" --to f32 --out "$TMP/deq"
a=$($PAL sample --model "$TMP/int8" --prompt-ids 1,2,3 --temperature 0 --length 12 --format ids 2>/dev/null)
b=$($PAL sample --model "$TMP/deq" --prompt-ids 1,2,3 --temperature 0 --length 12 --format ids 2>/dev/null)
check_eq "sample from int8 in place = from its values in f32" "$b" "$a"
check "the step carried along" bash -c "echo '{\"step\": 10}' > $M/trainer_state.json && $PAL quantize --model $M --to int8 --out $TMP/run/checkpoint-20 && grep -q '\"step\": 10' $TMP/run/checkpoint-20/trainer_state.json"
echo '{"step": 20}' > "$TMP/run/checkpoint-20/trainer_state.json"
w=$($PAL weave --run "$TMP/run" --schedule cycle --prompt-ids 1,2 --length 6 --temperature 0 --ignore-eot --format jsonl 2>/dev/null)
check "weave over an f32 and an int8 checkpoint: both write" bash -c "grep -q '\"step\":10' <<<'$w' && grep -q '\"step\":20' <<<'$w'"
check "sweep over them" bash -c "$PAL sweep --run $TMP/run --temperatures 0.8 --length 5 --prompt-ids 1 --quiet --out $TMP/sweep.jsonl >/dev/null 2>&1 && test \$(wc -l < $TMP/sweep.jsonl) -eq 2"
# refusals: one line, non-zero, nothing written
check_fails "--to int4 refused" "^palimpsest: quantize: --to int4: expected int8, bf16, f16 or f32$" $PAL quantize --model "$M" --to int4 --out "$TMP/x"
check "  ... nothing written" test ! -e "$TMP/x"
check_fails "an existing --out refused" "int8: already exists" $PAL quantize --model "$M" --to int8 --out "$TMP/int8"
check "--force replaces it" $PAL quantize --model "$M" --to bf16 --out "$TMP/int8" --force
check_fails "the source itself refused" "the output is the model folder itself" $PAL quantize --model "$M" --to int8 --out "$M" --force
check_fails "not a model folder" "nope: not a model directory" $PAL quantize --model "$TMP/nope" --to int8 --out "$TMP/y"
check_fails "flags required" "are required" $PAL quantize --model "$M"
out=$($PAL quantize --model "$TMP/nope" --to int8 --out "$TMP/y" 2>&1)
check_eq "the error is one line" 1 "$(lines "$out")"
done_tests
