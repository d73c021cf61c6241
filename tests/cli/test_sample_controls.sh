#!/usr/bin/env bash
# test_sample_controls.sh: --min-length (no <|endoftext|> before N new tokens) and --ban
# (the word's tokens never written) on a tiny untrained model, whose draws are nearly
# uniform: without them some of 24 samples end at <|endoftext|> and write "e" alone.
. tests/lib.sh
FX=tests/fixtures/train
PY=python3
export OMP_NUM_THREADS=2
$PAL tokenizer train --vocab-size 300 $FX/keeper.txt $FX/inventory.txt --out $TMP/tok >/dev/null 2>&1
$PAL init --config n_layer=1,n_head=2,n_embd=16,n_ctx=64,vocab_size=300 --tokenizer $TMP/tok --out $TMP/m --seed 1 >/dev/null 2>&1
S="sample --model $TMP/m --n 24 --length 40 --temperature 3 --format jsonl --quiet"
$PAL $S > $TMP/free.jsonl
$PAL $S --min-length 40 > $TMP/min.jsonl
check "without --min-length some samples end at <|endoftext|>" grep -q '"stop":"eot"' $TMP/free.jsonl
check "with --min-length 40 none do: every sample has 40 tokens" $PY -c "
import json; rows=[json.loads(l) for l in open('$TMP/min.jsonl')]
assert len(rows) == 24 and all(r['tokens'] == 40 and r['stop'] == 'length' for r in rows)"
printf 'e' > $TMP/e.txt; printf ' e' > $TMP/se.txt
e=$($PAL encode --model $TMP/m $TMP/e.txt --ids)
se=$($PAL encode --model $TMP/m $TMP/se.txt --ids)
$PAL $S --ban e > $TMP/ban.jsonl
check "the banned word's token ('e' $e, ' e' $se) appear without --ban and never with it" $PY - $TMP/free.jsonl $TMP/ban.jsonl "$e" "$se" <<'PY'
import json, sys
ids = {int(sys.argv[3])}   # "e" is one token; " e" is a space then that token: banned with it
free = [i for l in open(sys.argv[1]) for i in json.loads(l)["ids"]]
ban = [i for l in open(sys.argv[2]) for i in json.loads(l)["ids"]]
assert len(ids) >= 1 and any(i in ids for i in free) and not any(i in ids for i in ban), ids
PY
$PAL $S --stop e > $TMP/keep.jsonl
$PAL $S --stop e --stop-drop > $TMP/drop.jsonl
check "--stop e keeps the stop at the end; --stop-drop cuts it off (and the tokens that wrote it)" $PY - $TMP/keep.jsonl $TMP/drop.jsonl <<'PY'
import json, sys
keep = [json.loads(l) for l in open(sys.argv[1])]
drop = [json.loads(l) for l in open(sys.argv[2])]
stopped = [i for i, r in enumerate(keep) if r["stop"] == "stop"]
assert len(stopped) >= 3
for i in stopped:
    k, d = keep[i], drop[i]
    assert "e" in k["text"] and "e" not in d["text"] and d["stop"] == "stop"
    assert d["ids"] == k["ids"][:len(d["ids"])] and len(d["ids"]) < len(k["ids"]) and k["text"].startswith(d["text"])
for i, r in enumerate(keep):
    if i not in stopped: assert drop[i] == r
PY
check_fails "--stop-keep and --stop-drop together are refused" "one of --stop-keep, --stop-drop" $PAL sample --model $TMP/m --stop e --stop-keep --stop-drop
check_fails "weave refuses --stop-drop" "stop-drop" $PAL weave --checkpoints $TMP/m,$TMP/m --stop e --stop-drop
# --prompts: one batch, each record names its prompt and equals the prompt run alone
printf 'In the\nThe keeper of the lamp said\n\nOne\n' > $TMP/prompts.txt
$PAL sample --model $TMP/m --prompts $TMP/prompts.txt --n 2 --length 8 --format jsonl --quiet > $TMP/batch.jsonl
for p in "In the" "The keeper of the lamp said" "" "One"; do
  if [ -n "$p" ]; then $PAL sample --model $TMP/m --prompt "$p" --n 2 --length 8 --format jsonl --quiet
  else $PAL sample --model $TMP/m --n 2 --length 8 --format jsonl --quiet; fi
done > $TMP/solo.jsonl
check "sample --prompts: 4 prompts x 2 samples in one batch, each equal to its prompt alone (an empty line: from <|endoftext|>)" $PY - $TMP/batch.jsonl $TMP/solo.jsonl <<'PY'
import json, sys
b = [json.loads(l) for l in open(sys.argv[1])]
s = [json.loads(l) for l in open(sys.argv[2])]
assert len(b) == 8 and [r["prompt"] for r in b] == [r["prompt"] for r in s]
assert all(x["ids"] == y["ids"] and x["seed"] == y["seed"] for x, y in zip(b, s))
assert len({tuple(r["ids"]) for r in b}) > 2
PY
R=$TMP/run
$PAL train --model $TMP/m --data $FX/keeper.txt --out $R --steps 2 --batch 2 --seq 32 --quiet >/dev/null 2>&1
$PAL sweep --run $R --prompts $TMP/prompts.txt --temperatures 0.5,1 --n 2 --length 6 --out $TMP/sw.jsonl --quiet
$PAL sweep --run $R --prompt "One" --temperatures 0.5,1 --n 2 --length 6 --out $TMP/sw1.jsonl --quiet
check "sweep --prompts: every prompt x temperature x sample; a prompt's records equal its own sweep" $PY - $TMP/sw.jsonl $TMP/sw1.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
one = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == 4 * 2 * 2, len(rows)   # prompts x temperatures x samples (one checkpoint)
mine = [r for r in rows if r["prompt"] == "One"]
key = lambda r: (r["step"], r["temperature"], r["sample"])
assert sorted(map(key, mine)) == sorted(map(key, one))
d = {key(r): r["text"] for r in one}
assert all(d[key(r)] == r["text"] for r in mine)
PY
check_fails "--prompts with --prompt is refused" "one of --prompt" $PAL sample --model $TMP/m --prompts $TMP/prompts.txt --prompt x
check_fails "--min-length below 0 is refused" "min-length" $PAL sample --model $TMP/m --min-length -1
check_fails "an empty --ban is refused" "empty word" $PAL sample --model $TMP/m --ban ""
done_tests
