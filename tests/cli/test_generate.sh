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
