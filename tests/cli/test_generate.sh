# test_generate.sh: sample, weave and sweep from the command line on tiny models with GPT-2's
# tokenizer (built here with `palimpsest init` into a run folder): determinism, seeds,
# weave == sample over copies for every schedule, blends, interpolation, jsonl, sweep
# records, and the one-line errors.
source tests/lib.sh
PY=python3
R=$TMP/run
CFG=n_layer=2,n_head=2,n_embd=32,n_ctx=64
for s in 0 10 20; do
  $PAL init --config $CFG --out $R/checkpoint-$s --seed $((s + 1)) >/dev/null 2>&1
done
check "init made a run of 3 checkpoints" test -f $R/checkpoint-20/model.safetensors
A=$R/checkpoint-0
mkdir -p $TMP/copies
for c in c1 c2 c3; do cp -r $A $TMP/copies/$c; done
C1=$TMP/copies/c1 C2=$TMP/copies/c2 C3=$TMP/copies/c3
LEN=40; [ "${PAL_SANITIZED:-0}" = 1 ] && LEN=24

# ---- sample
o1=$($PAL sample --model $A --prompt "The sea at night" --length 30 --seed 3 --ignore-eot --quiet)
o2=$($PAL sample --model $A --prompt "The sea at night" --length 30 --seed 3 --ignore-eot --quiet)
check_eq "sample: the same seed gives the same text" "$o1" "$o2"
o3=$($PAL sample --model $A --prompt "The sea at night" --length 30 --seed 4 --ignore-eot --quiet)
check "sample: another seed gives another text" test "$o1" != "$o3"
t1=$($PAL sample --model $A --length 50 --seed 9 --ignore-eot --format ids --threads 1 --quiet)
t2=$($PAL sample --model $A --length 50 --seed 9 --ignore-eot --format ids --threads 2 --quiet)
check_eq "sample: 1 and 2 threads give the same ids" "$t1" "$t2"
check_eq "sample: --length 50 gives 50 ids" 50 "$(echo "$t1" | tr ',' '\n' | wc -l)"
$PAL sample --model $A --length 150 --seed 5 --ignore-eot --quiet > $TMP/utf.txt
check "sample: streamed text is valid UTF-8 (held partial characters)" \
  $PY -c "import sys; open(sys.argv[1],'rb').read().decode('utf-8')" $TMP/utf.txt
n3=$($PAL sample --model $A --length 20 --seed 11 --n 3 --ignore-eot --format ids --quiet | sed -n 3p)
n1=$($PAL sample --model $A --length 20 --seed 13 --n 1 --ignore-eot --format ids --quiet)
check_eq "sample: sample 2 of --n 3 --seed 11 = --n 1 --seed 13" "$n1" "$n3"
long=$($PAL sample --model $A --length 150 --seed 2 --ignore-eot --format ids --quiet | tr ',' '\n' | wc -l)
check_eq "sample: 150 tokens past n_ctx=64 (sliding window)" 150 "$long"
check "sample: --help tells of the sliding window" bash -c "$PAL sample --help | grep -q 'oldest half'"
p=$($PAL sample --model $A --prompt "Lantern" --include-prompt --length 5 --quiet --ignore-eot)
check "sample: --include-prompt prints the prompt first" test "${p#Lantern}" != "$p"
$PAL sample --model $A --length 30 --n 2 --format jsonl --stop e --quiet > $TMP/s.jsonl
check "sample: jsonl, one object per sample; --stop ends a sample after the string" $PY -c "
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
assert len(rows)==2 and [r['sample'] for r in rows]==[0,1] and rows[1]['seed']==2
for r in rows:
    assert len(r['ids'])==r['tokens']
    if r['stop']=='stop': assert 'e' in r['text']
assert any(r['stop']=='stop' for r in rows)
" $TMP/s.jsonl

printf 'The sea at night' > $TMP/prompt.txt
o4=$($PAL sample --model $A --prompt-file $TMP/prompt.txt --length 30 --seed 3 --ignore-eot --quiet)
check_eq "sample: --prompt-file = --prompt" "$o1" "$o4"
f1=$($PAL sample --model $A --length 120 --seed 8 --temperature 0.9 --top-k 30 --top-p 0.9 --min-p 0.05 \
     --repetition-penalty 1.2 --no-repeat-ngram 2 --ignore-eot --format ids --quiet)
f2=$($PAL sample --model $A --length 120 --seed 8 --temperature 0.9 --top-k 30 --top-p 0.9 --min-p 0.05 \
     --repetition-penalty 1.2 --no-repeat-ngram 2 --ignore-eot --format ids --quiet --threads 1)
check_eq "sample: every filter at once is reproducible" "$f1" "$f2"
check "sample: --no-repeat-ngram 2 leaves no bigram twice" $PY -c "
import sys
ids=sys.argv[1].split(',')
bg=list(zip(ids,ids[1:]))
assert len(ids)==120 and len(bg)==len(set(bg))
" "$f1"

# A model rigged to write only the two bytes of "é" (0xC3, 0xA9) as separate tokens: the
# final LayerNorm outputs e0, so logits are wte[:,0]. Streams must hold a lone 0xC3 until
# its continuation comes, and jsonl token texts must concatenate to the whole text.
cp -r $A $TMP/bytes
c3=$(printf '\xc3' > $TMP/c3 && $PAL encode --model $A $TMP/c3 --ids)
a9=$(printf '\xa9' > $TMP/a9 && $PAL encode --model $A $TMP/a9 --ids)
$PY - $TMP/bytes/model.safetensors $c3 $a9 <<'PYEOF'
import json, struct, sys
path, c3, a9 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = bytearray(open(path, 'rb').read())
n = struct.unpack('<Q', buf[:8])[0]
hdr = json.loads(buf[8:8 + n])
def view(name):
    t = hdr[name]; a, b = t['data_offsets']; return 8 + n + a, t['shape']
off, (V, C) = view('wte.weight')
for v in range(V):
    struct.pack_into('<f', buf, off + 4 * v * C, {c3: 4.0, a9: 4.0}.get(v, -12.0))
for name, val in (('ln_f.weight', lambda c: 0.0), ('ln_f.bias', lambda c: 1.0 if c == 0 else 0.0)):
    o, (D,) = view(name)
    for c in range(D): struct.pack_into('<f', buf, o + 4 * c, val(c))
open(path, 'wb').write(buf)
PYEOF
$PAL sample --model $TMP/bytes --length 40 --seed 2 --ignore-eot --quiet > $TMP/bytes.txt
check "sample: a text of split characters streams as valid UTF-8, é whole" $PY -c "
import sys
t = open(sys.argv[1], 'rb').read().decode('utf-8')
assert 'é' in t, t
" $TMP/bytes.txt
$PAL weave --checkpoints $TMP/bytes --length 40 --seed 2 --ignore-eot --format jsonl --quiet > $TMP/bytes.jsonl
check "weave jsonl: a token ending inside a character carries it to the next token" $PY -c "
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
toks, end = L[1:-1], L[-1]
assert ''.join(t['text'] for t in toks) == end['text'].rstrip('\ufffd') or ''.join(t['text'] for t in toks) == end['text']
held = [i for i, t in enumerate(toks[:-1]) if t['text'] == '' and toks[i + 1]['text'].startswith('é')]
assert held, [t['text'] for t in toks]
" $TMP/bytes.jsonl

# ---- weave over copies of one checkpoint = sample, every schedule, both contexts
ref=$($PAL sample --model $A --prompt "Rain on the roof." --length $LEN --seed 21 --top-k 40 --ignore-eot --format ids --quiet)
for ctx in shared own; do
  for sch in cycle blocks:3 timelapse reverse-timelapse random:4 "list:#0,#2,#1" lines sentences; do
    w=$($PAL weave --checkpoints $A,$C1,$C2 --schedule "$sch" --context $ctx --prompt "Rain on the roof." \
        --length $LEN --seed 21 --top-k 40 --ignore-eot --format ids --quiet 2>&1)
    check_eq "weave over 3 copies = sample ($sch, $ctx)" "$ref" "$w"
  done
done
slide=$($PAL sample --model $A --length 90 --seed 6 --ignore-eot --format ids --quiet)
w=$($PAL weave --checkpoints $A,$C1 --schedule blocks:7 --length 90 --seed 6 --ignore-eot --format ids --quiet)
check_eq "weave over copies past n_ctx (sliding, shared) = sample" "$slide" "$w"
w=$($PAL weave --checkpoints $A --context own --length 90 --seed 6 --ignore-eot --format ids --quiet)
check_eq "weave, one checkpoint, own context, past n_ctx = sample" "$slide" "$w"
w=$($PAL weave --checkpoints $A,$C1 --context own --schedule cycle --length 90 --seed 6 --ignore-eot --format ids --quiet)
check_eq "weave over copies past n_ctx (sliding, own) = sample" "$slide" "$w"

# ---- blends and interpolation
B=$R/checkpoint-10
w=$($PAL weave --checkpoints $A,$B --blend 0:1,10:0 --prompt "Rain on the roof." --length $LEN --seed 21 --top-k 40 --ignore-eot --format ids --quiet)
check_eq "weave --blend 0:1,10:0 = sample from step 0" "$ref" "$w"
w=$($PAL weave --checkpoints $A,$B --interpolate "#0:1,#1:0" --prompt "Rain on the roof." --length $LEN --seed 21 --top-k 40 --ignore-eot --format ids --quiet)
check_eq "weave --interpolate #0:1,#1:0 = sample from step 0" "$ref" "$w"
g0=$($PAL sample --model $A --length 20 --temperature 0 --ignore-eot --format ids --quiet)
w=$($PAL weave --checkpoints $A,$C1 --blend "#0:0.5,#1:0.5" --length 20 --temperature 0 --ignore-eot --format ids --quiet)
check_eq "weave --blend of a checkpoint with its copy at T=0 = greedy" "$g0" "$w"
gb=$($PAL sample --model $B --length 20 --temperature 0 --ignore-eot --format ids --quiet)
w=$($PAL weave --run $R --blend 0:0.5,10:0.5 --blend 10:1 --schedule list:#1 --length 20 --temperature 0 --ignore-eot --format ids --quiet)
check_eq "a schedule over blends: list:#1 picks the second blend (= step 10)" "$gb" "$w"
s10=$($PAL sample --model $B --length 90 --seed 6 --ignore-eot --format ids --quiet)
w=$($PAL weave --run $R --context own --blend 10:1 --length 90 --seed 6 --ignore-eot --format ids --quiet)
check_eq "own context, a blend naming one checkpoint of three, past n_ctx = sample from it" "$s10" "$w"
w=$($PAL weave --run $R --interpolate 0:0.5,20:0.5 --length 10 --ignore-eot --format ids --quiet)
check_eq "weave --interpolate 0:0.5,20:0.5 writes 10 ids" 10 "$(echo "$w" | tr ',' '\n' | wc -l)"

# ---- weave jsonl and selection
$PAL weave --run $R --schedule cycle --length 12 --seed 2 --ignore-eot --format jsonl --quiet > $TMP/w.jsonl
check "weave jsonl: header, one token line per token naming its writer, end" $PY -c "
import json,sys
L=[json.loads(l) for l in open(sys.argv[1])]
h,toks,end=L[0],L[1:-1],L[-1]
assert h['type']=='weave' and h['context']=='shared' and [c['step'] for c in h['checkpoints']]==[0,10,20]
assert len(toks)==12 and all(t['type']=='token' for t in toks)
assert [t['checkpoint'] for t in toks]==[i%3 for i in range(12)]
assert [t['step'] for t in toks]==[[0,10,20][i%3] for i in range(12)]
assert end['type']=='end' and end['tokens']==12 and ''.join(t['text'] for t in toks)==end['text']
" $TMP/w.jsonl
$PAL weave --run $R --select every:2 --schedule timelapse --length 8 --ignore-eot --format jsonl --quiet > $TMP/w2.jsonl
check "weave --select every:2 keeps steps 0 and 20; timelapse goes 0 then 20" $PY -c "
import json,sys
L=[json.loads(l) for l in open(sys.argv[1])]
assert [c['step'] for c in L[0]['checkpoints']]==[0,20]
assert [t['step'] for t in L[1:-1]]==[0,0,0,0,20,20,20,20]
" $TMP/w2.jsonl
$PAL weave --run $R --blend 0:0.7,20:0.3 --length 4 --ignore-eot --format jsonl --quiet > $TMP/w3.jsonl
check "weave jsonl with a blend tells the blend weights" $PY -c "
import json,sys
L=[json.loads(l) for l in open(sys.argv[1])]
assert L[0]['voices'][0]['blend'][1]['checkpoint']==2
b=L[1]['blend']; assert abs(b[0]['weight']-0.7)<1e-6 and b[1]['checkpoint']==2
" $TMP/w3.jsonl
check "weave: says how much it maps" bash -c "$PAL weave --run $R --length 2 --ignore-eot 2>&1 >/dev/null | grep -q 'mapped once'"
c=$($PAL weave --run $R --length 6 --color always --ignore-eot --quiet)
check "weave --color always colours tokens by writer" bash -c "printf '%s' '$c' | grep -q $'\033\\[38;5;'"

# ---- sweep
$PAL sweep --run $R --temperatures 0.5,1.0 --n 2 --length 16 --seed 5 --ignore-eot --quiet --out $TMP/sw.jsonl
check "sweep: 3 checkpoints x 2 temperatures x 2 samples, every field" $PY -c "
import json,sys
L=[json.loads(l) for l in open(sys.argv[1])]
assert len(L)==12
assert [(r['step'],r['temperature'],r['sample']) for r in L]==[(s,t,i) for s in (0,10,20) for t in (0.5,1.0) for i in (0,1)]
for r in L:
    for k in ('run','checkpoint','seed','prompt','settings','text','distinct_1','distinct_2','longest_repeat','repeat_share','degenerate'):
        assert k in r, k
    assert 0 < r['distinct_1'] <= 1 and 0 <= r['repeat_share'] <= 1 and isinstance(r['degenerate'], bool)
    assert r['settings']['length']==16 and r['seed']==5+r['sample']
" $TMP/sw.jsonl
s0=$($PAL sample --model $R/checkpoint-10 --length 16 --seed 6 --temperature 0.5 --ignore-eot --quiet --format jsonl | $PY -c "import json,sys; print(json.loads(sys.stdin.readline())['text'])")
s1=$($PY -c "
import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r['step']==10 and r['temperature']==0.5 and r['sample']==1: print(r['text'])" $TMP/sw.jsonl)
check_eq "sweep record (step 10, T=0.5, sample 1) = sample --seed 6" "$s0" "$s1"
$PAL sweep --run $R --checkpoints 10 --temperatures 1.3,0 --n 3 --length 12 --top-k 50 --ignore-eot --quiet --out $TMP/sw0.jsonl
g10=$($PAL sample --model $R/checkpoint-10 --length 12 --temperature 0 --ignore-eot --format jsonl --quiet | $PY -c "import json,sys; print(json.loads(sys.stdin.readline())['text'])")
h13=$($PAL sample --model $R/checkpoint-10 --length 12 --temperature 1.3 --top-k 50 --seed 3 --ignore-eot --format jsonl --quiet | $PY -c "import json,sys; print(json.loads(sys.stdin.readline())['text'])")
check "sweep batches temperatures: each row = its own sample (T=0 greedy, T=1.3 seed 3)" $PY -c "
import json,sys
L=[json.loads(l) for l in open(sys.argv[1])]
assert [(r['temperature'],r['sample']) for r in L]==[(1.3,0),(1.3,1),(1.3,2),(0,0),(0,1),(0,2)]
assert all(r['text']==sys.argv[2] for r in L[3:]), 'greedy'
assert L[2]['text']==sys.argv[3], 'T=1.3 seed 3'
" $TMP/sw0.jsonl "$g10" "$h13"
$PAL sweep --run $R --checkpoints 10 --temperatures 1 --length 4 --quiet --out $TMP/sw1.jsonl
check_eq "sweep --checkpoints 10 keeps one checkpoint" 1 "$(wc -l < $TMP/sw1.jsonl)"

# ---- one-line errors
check_fails "temperature below 0" "temperature: -1 is below 0" $PAL sample --model $A --temperature -1
check_fails "top-p 0" "top-p: 0 is outside \(0, 1\]" $PAL sample --model $A --top-p 0
check_fails "top-p 1.5" "top-p: 1.5 is outside" $PAL weave --run $R --top-p 1.5
check_fails "sweep temperature below 0" "below 0" $PAL sweep --run $R --temperatures 1,-0.5 --out $TMP/x.jsonl
mkdir -p $TMP/empty
check_fails "an empty run folder" "no checkpoint-N folders" $PAL sweep --run $TMP/empty --out $TMP/x.jsonl
check_fails "weave: an empty run folder" "no checkpoint-N folders" $PAL weave --run $TMP/empty
check_fails "a schedule naming a step the run lacks" "step 15 is not a checkpoint" $PAL weave --run $R --schedule list:0,15
check_fails "a selection naming a step the run lacks" "no checkpoint at step 15" $PAL sweep --run $R --checkpoints 0,15 --out $TMP/x.jsonl
check "no half-written sweep file" test ! -e $TMP/x.jsonl
$PAL init --config n_layer=2,n_head=2,n_embd=64,n_ctx=64 --out $TMP/other/checkpoint-5 >/dev/null 2>&1
check_fails "differing configs are refused, naming both" "checkpoint-5/config.json differs from .*checkpoint-0/config.json" \
  $PAL weave --checkpoints $A,$TMP/other/checkpoint-5
echo '#extra' >> $C3/merges.txt
check_fails "differing tokenizers are refused, naming both" "c3/merges.txt differs from .*checkpoint-0/merges.txt" \
  $PAL weave --checkpoints $A,$C3
check_fails "unknown schedule" "unknown" $PAL weave --run $R --schedule zigzag
check_fails "bad --context" "not shared or own" $PAL weave --run $R --context both
done_tests
