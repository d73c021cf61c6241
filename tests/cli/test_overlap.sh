#!/usr/bin/env bash
# test_overlap.sh: `palimpsest overlap` on a tiny run trained on a mixture of the two train
# fixtures: a text copied from one unit (and across a line break, two units) is found with
# its source, byte and original file/unit/offset; the index is built once, reused, built
# again for other data (refused with --no-build); records files (sweep lines, weave lines)
# are annotated, and a line that is not a record is named; `sweep --copied` adds the fields.
. tests/lib.sh
FX=tests/fixtures/train
PY=python3
export OMP_NUM_THREADS=2
tiny_model $FX/keeper.txt $FX/inventory.txt
$PAL mix $FX/keeper.txt $FX/inventory.txt -o $TMP/mix.txt --quiet
$PAL train --model $TMP/m --data $TMP/mix.txt --out $TMP/run --steps 2 --batch 2 --seq 32 --val-fraction 0.1 --quiet >/dev/null 2>&1
check "a tiny run trains on the mixture" test -d $TMP/run/checkpoint-2

# line 3 of the mixture is keeper.txt's unit 1; lines 3-4 join two units across a line break
unit=$(sed -n 3p $TMP/mix.txt | cut -c1-60)
printf 'Nothing like it. %s and then some.' "$unit" > $TMP/q.txt
out=$($PAL overlap --run $TMP/run $TMP/q.txt 2>$TMP/err1)
check "the first query builds RUN/overlap.index" grep -q "indexed" $TMP/err1
check "the index file is there" test -s $TMP/run/overlap.index
check_eq "one span found" "1 copied span" "$(echo "$out" | head -1 | cut -d' ' -f1-3)"
check "it names the mixture and the original unit" bash -c "echo '$out' | grep -q 'from mix.txt token .* byte 460 (tests/fixtures/train/keeper.txt unit 1, byte 406, +0 into the unit)'"
$PAL overlap --run $TMP/run $TMP/q.txt >/dev/null 2>$TMP/err2
check "the second query reuses the index" grep -q "reusing the index" $TMP/err2

# JSON answer: the span's bytes are the copied text, the source's bytes hold the same text
$PAL overlap --run $TMP/run $TMP/q.txt --jsonl --quiet > $TMP/q.json
check "the span's bytes in the query and in the mixture and the original are the unit's text" $PY - $TMP/q.json $TMP/q.txt $TMP/mix.txt <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); q = open(sys.argv[2], "rb").read(); mix = open(sys.argv[3], "rb").read()
s = r["copied"][0]
piece = q[s["byte_start"]:s["byte_end"]]
orig = open(s["origin"], "rb").read()
assert r["longest_copied"] == s["tokens"] and 0 < r["copied_share"] < 1, r
assert mix[s["byte"]:s["byte"] + len(piece)] == piece, (piece, s)
assert orig[s["origin_byte"] + s["unit_offset"]:][:len(piece)] == piece
PY
$PY -c "
m = open('$TMP/mix.txt', 'rb').read(); nl = m.index(b'\\n', 500)
open('$TMP/q2.txt', 'wb').write(b'zebra ' + m[nl - 40:nl + 40] + b' quartz')"
$PAL overlap --run $TMP/run $TMP/q2.txt --jsonl --quiet > $TMP/q2.json
check "a span across a line break (two units) is one span" $PY -c "
import json; r = json.load(open('$TMP/q2.json')); s = r['copied']
assert len(s) == 1 and b'\n' in open('$TMP/q2.txt','rb').read()[s[0]['byte_start']:s[0]['byte_end']], r"
$PAL overlap --run $TMP/run --text "zebra quartz fjord vexing" --jsonl --quiet > $TMP/q3.json
check_eq "a text not in the data: no spans" '"longest_copied":0,"copied_share":0,"copied":[]}' "$(grep -o '"longest_copied.*' $TMP/q3.json)"

# records: a sweep line and weave lines annotated; a bad line named
text=$($PY -c "import json,sys; print(json.dumps(open('$TMP/q.txt').read()))")
{ echo "{\"run\":\"r\",\"step\":2,\"temperature\":1,\"text\":$text,\"tokens\":5}"
  echo '{"type":"weave","schedule":"timelapse"}'
  echo '{"type":"token","sample":0,"i":0,"id":1,"text":"x"}'
  echo "{\"type\":\"end\",\"sample\":0,\"text\":$text}"; } > $TMP/rec.jsonl
$PAL overlap --run $TMP/run $TMP/rec.jsonl --out $TMP/rec2.jsonl --quiet
check "records: the sweep and weave-end lines gain the fields, the others are kept" $PY - $TMP/rec2.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 4
assert rows[0]["longest_copied"] > 8 and rows[0]["copied"][0]["source"] == "mix.txt" and rows[0]["step"] == 2
assert "copied" not in rows[1] and "copied" not in rows[2]
assert rows[3]["copied"] == rows[0]["copied"]
PY
$PAL overlap --run $TMP/run $TMP/rec2.jsonl --out $TMP/rec3.jsonl --quiet
check "annotating twice replaces the fields" $PY -c "
import json; a=[json.loads(l) for l in open('$TMP/rec2.jsonl')]; b=[json.loads(l) for l in open('$TMP/rec3.jsonl')]; assert a == b"
$PY -c "
import json; r = json.loads(open('$TMP/rec2.jsonl').readline()); r['text'] = 'x<&' + r['text']
for c in r['copied']: c['byte_start'] += 3; c['byte_end'] += 3
open('$TMP/sweep_marked.jsonl', 'w').write(json.dumps(r) + '\\n')"
$PAL report $TMP/run --sweep $TMP/sweep_marked.jsonl -o $TMP/report.html 2>/dev/null
check "the report marks the copied span, hover names the source and the original" \
  grep -q '<mark class="copied" title="[0-9]* tokens from mix.txt, token [0-9]*, byte 460 (tests/fixtures/train/keeper.txt, unit 1, byte 406)">In the afternoon' $TMP/report.html
check "text before the span is escaped, the measures show the copy" grep -q 'x&lt;&amp;Nothing like it. <mark.*longest copied' $TMP/report.html
printf '{"text":"a"}\nnot json\n' > $TMP/bad.jsonl
check_fails "a line that is not a record is named" "bad.jsonl:2: not a JSON record" $PAL overlap --run $TMP/run $TMP/bad.jsonl
check_fails "--min-tokens below 3 is refused" "at least 3" $PAL overlap --run $TMP/run $TMP/q.txt --min-tokens 2
check_fails "a folder that is not a run" "not a run folder" $PAL overlap --run $TMP --text hi

# an index from another run's data: refused with --no-build, else built again
$PAL mix $FX/inventory.txt $FX/keeper.txt -o $TMP/mix2.txt --quiet
$PAL train --model $TMP/m --data $TMP/mix2.txt --out $TMP/run2 --steps 1 --batch 2 --seq 32 --quiet >/dev/null 2>&1
cp $TMP/run/overlap.index $TMP/run2/overlap.index
check_fails "another run's index is refused with --no-build" "built from other data" $PAL overlap --run $TMP/run2 $TMP/q.txt --no-build
$PAL overlap --run $TMP/run2 $TMP/q.txt >/dev/null 2>$TMP/err3
check "and built again without it" grep -q "indexed" $TMP/err3
check "the rebuilt index differs from the copied one" bash -c "! cmp -s $TMP/run/overlap.index $TMP/run2/overlap.index"

$PAL sweep --run $TMP/run --prompt "In the" --length 12 --temperatures 1 --n 2 --copied 3 --out $TMP/sweep.jsonl --quiet
check "sweep --copied: every record has longest_copied, copied_share and copied" $PY -c "
import json; rows=[json.loads(l) for l in open('$TMP/sweep.jsonl')]
assert len(rows) == 2 and all('longest_copied' in r and 'copied_share' in r and isinstance(r['copied'], list) for r in rows)"
done_tests
