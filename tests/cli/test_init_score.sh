# test_init_score.sh: `palimpsest init` (config, tokenizer's vocab size, determinism, refusals)
# and `palimpsest score` (--ids against the PyTorch loss in tests/fixtures/tiny, --json, limits,
# malformed model directories ending in "palimpsest: FILE: what is wrong").
source tests/lib.sh
TINY=tests/fixtures/tiny
TOK=tests/fixtures/hub/gpt2   # a 16-token tokenizer of our own (vocab.json + merges.txt)
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
jget() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"; }

# ---- init
check "init a small model" $PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=16 --tokenizer $TOK --out "$TMP/m" --seed 3
for f in config.json model.safetensors vocab.json merges.txt; do check "init wrote $f" test -s "$TMP/m/$f"; done
check "vocab_size taken from the tokenizer (16)" grep -q '"vocab_size":[[:space:]]*16,' "$TMP/m/config.json"
check "eos is the tokenizer's <|endoftext|> (15)" grep -q '"eos_token_id":[[:space:]]*15,' "$TMP/m/config.json"
check "n_positions and n_ctx written" bash -c "grep -q '\"n_positions\":[[:space:]]*16,' $TMP/m/config.json && grep -q '\"n_ctx\":[[:space:]]*16,' $TMP/m/config.json"
check "same seed, same bytes" bash -c "$PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=16 --tokenizer $TOK --out $TMP/m2 --seed 3 && cmp -s $TMP/m/model.safetensors $TMP/m2/model.safetensors"
check "another seed, other bytes" bash -c "$PAL init --config n_layer=2,n_head=2,n_embd=32,n_ctx=16 --tokenizer $TOK --out $TMP/m3 --seed 4 && ! cmp -s $TMP/m/model.safetensors $TMP/m3/model.safetensors"
check_fails "init refuses an existing directory" "already exists" $PAL init --config n_layer=1,n_head=1,n_embd=8,n_ctx=8 --tokenizer $TOK --out "$TMP/m"
check "init --force replaces it" $PAL init --config n_layer=1,n_head=1,n_embd=8,n_ctx=8 --tokenizer $TOK --out "$TMP/m3" --force
check "the replaced directory has the new config" grep -q '"n_embd":[[:space:]]*8,' "$TMP/m3/config.json"
check "explicit vocab_size wins" bash -c "$PAL init --config n_layer=1,n_head=1,n_embd=8,n_ctx=8,vocab_size=40 --tokenizer $TOK --out $TMP/v40 && grep -q '\"vocab_size\":[[:space:]]*40,' $TMP/v40/config.json"
check_fails "vocab_size below the tokenizer's" "smaller than the tokenizer's 16" $PAL init --config n_layer=1,n_head=1,n_embd=8,n_ctx=8,vocab_size=10 --tokenizer $TOK --out "$TMP/v10"
check_fails "n_embd not divisible by n_head" "divisible" $PAL init --config n_layer=1,n_head=3,n_embd=8,n_ctx=8 --tokenizer $TOK --out "$TMP/bad"
check_fails "init needs --config" "config is required" $PAL init --out "$TMP/x"
check_fails "init: unknown flag" "unknown flag" $PAL init --config 124M --out "$TMP/x" --colour
check_fails "init: missing tokenizer dir" "nope: no such tokenizer directory" $PAL init --config n_layer=1,n_head=1,n_embd=8,n_ctx=8 --tokenizer "$TMP/nope" --out "$TMP/x"
check "init --tokenizer none" bash -c "$PAL init --config n_layer=1,n_head=1,n_embd=8,n_ctx=8,vocab_size=20 --tokenizer none --out $TMP/notok && test ! -e $TMP/notok/vocab.json"
if [ -s data/tokenizer/gpt2/vocab.json ]; then
  check "default tokenizer gives GPT-2's 50257" bash -c "$PAL init --config n_layer=1,n_head=1,n_embd=8,n_ctx=8 --out $TMP/g && grep -q '\"vocab_size\":[[:space:]]*50257,' $TMP/g/config.json"
fi
check "no temporary directories left" bash -c "! ls -d $TMP/*.tmp.* >/dev/null 2>&1"

# ---- score --ids against PyTorch (tests/fixtures/tiny/expect.json: score_ids, score_loss)
IDS=$(tr -d ' \n' <$TINY/expect.json | sed -n 's/.*"score_ids":\[\([0-9,]*\)\].*/\1/p')
WANT=$(tr -d ' \n' <$TINY/expect.json | sed -n 's/.*"score_loss":\([-0-9.e+]*\).*/\1/p')
WANT_PPL=$(tr -d ' \n' <$TINY/expect.json | sed -n 's/.*"score_perplexity":\([-0-9.e+]*\).*/\1/p')
OUT=$($PAL score --model $TINY --ids "$IDS" --json)
GOT=$(printf '%s' "$OUT" | jget loss)
check "score --json is one line with loss, perplexity, tokens" bash -c "[ \$(printf '%s\n' '$OUT' | wc -l) -eq 1 ] && printf '%s' '$OUT' | grep -q '^{\"loss\":[0-9.]*,\"perplexity\":[0-9.]*,\"tokens\":19}$'"
check "score --ids equals PyTorch's loss within 1e-4 ($GOT vs $WANT)" near "$GOT" "$WANT" 1e-4
check "perplexity is exp(loss) as PyTorch's ($(printf '%s' "$OUT" | jget perplexity) vs $WANT_PPL)" near "$(printf '%s' "$OUT" | jget perplexity)" "$WANT_PPL" 0.03
check "--threads 1 gives the same loss" bash -c "[ \"\$($PAL score --model $TINY --ids $IDS --json --threads 1)\" = '$OUT' ]"
check "plain output names loss and perplexity" bash -c "$PAL score --model $TINY --ids $IDS | grep -q '^ids: loss [0-9.]*  perplexity [0-9.]*  tokens 19$'"
# a fresh init predicts nearly uniformly: loss ~ ln(16) = 2.7726
check "a fresh init scores ~ln(V)" near "$($PAL score --model $TMP/m --ids 1,2,3,4,5,6,7,8,9 --json | jget loss)" 2.7726 0.05
LONG=$(seq -s, 0 32 | sed 's/[0-9]*/5/g')   # 33 ids: n_positions+1 for the tiny model (n_ctx 32)
check "n_positions+1 ids are accepted" $PAL score --model $TINY --ids "$LONG"
check_fails "more than n_positions+1 ids is an error" "34 ids, but .* takes at most n_positions\+1 = 33" $PAL score --model $TINY --ids "$LONG,5"
check_fails "an id outside the vocabulary" "token id 97 at position 1 is outside" $PAL score --model $TINY --ids 1,97,2
check_fails "one id predicts nothing" "at least 2 ids" $PAL score --model $TINY --ids 4
check_fails "ids that are not ids" "not a comma-separated list" $PAL score --model $TINY --ids 1,x
check_fails "score needs --model" "model DIR is required" $PAL score --ids 1,2
check_fails "--ids and FILEs together" "either --ids or FILEs" $PAL score --model $TINY --ids 1,2 "$TMP/f.txt"

# ---- FILE scoring through the model's tokenizer, in non-overlapping windows of n_positions
if $PAL encode --help >/dev/null 2>&1 && [ -s data/tokenizer/gpt2/vocab.json ]; then
  $PAL init --config n_layer=1,n_head=2,n_embd=16,n_ctx=16 --tokenizer data/tokenizer/gpt2 --out "$TMP/g16" --seed 9 >/dev/null
  printf 'The lamp burns low; the ink is dry.\n' >"$TMP/short.txt"
  SIDS=$($PAL encode --model "$TMP/g16" "$TMP/short.txt" --ids | tr -d ' \n')
  check_eq "a short file scores as its ids" "$($PAL score --model "$TMP/g16" --ids "$SIDS" --json)" \
    "$($PAL score --model "$TMP/g16" "$TMP/short.txt" --json)"
  for i in 1 2 3 4 5 6; do printf 'Line %d of a long page, written over and over, scraped and written again.\n' $i; done >"$TMP/long.txt"
  LIDS=$($PAL encode --model "$TMP/g16" "$TMP/long.txt" --ids | tr -d ' \n')
  N=$(printf '%s' "$LIDS" | awk -F, '{ print NF }')
  # windows: ids[0..16], ids[16..32], ... (17 ids = 16 predictions each, the last shorter)
  EXPECT=$(printf '%s' "$LIDS" | tr ',' '\n' | awk -v pal="$PAL" -v m="$TMP/g16" '
    { id[NR - 1] = $1 } END {
      n = NR; sum = 0; tok = 0
      for (s = 0; s + 1 < n; s += T) {
        T = n - 1 - s; if (T > 16) T = 16
        ids = id[s]; for (k = s + 1; k <= s + T; k++) ids = ids "," id[k]
        cmd = pal " score --model " m " --json --ids " ids; cmd | getline line; close(cmd)
        sub(/.*"loss":/, "", line); sub(/,.*/, "", line); sum += line * T; tok += T
      }
      printf "%.6f %d", sum / tok, tok }')
  GOTL=$($PAL score --model "$TMP/g16" "$TMP/long.txt" --json)
  check "a ${N}-token file needs several windows" test "$N" -gt 33
  check "file loss = token-weighted mean of its windows ($EXPECT)" near "$(printf '%s' "$GOTL" | jget loss)" "${EXPECT% *}" 2e-6
  check_eq "every token but the first predicted once" "$((N - 1))" "$(printf '%s' "$GOTL" | sed -n 's/.*"tokens":\([0-9]*\).*/\1/p')"
  check "two files: one line each and a total" bash -c "[ \$($PAL score --model $TMP/g16 $TMP/short.txt $TMP/long.txt | grep -c 'loss') -eq 3 ]"
  check_fails "a missing file" "nope.txt: cannot open" $PAL score --model "$TMP/g16" "$TMP/nope.txt"
fi

# ---- F16 / BF16 / prefixed files: read in place, the F32 values they round to
for dt in F16 BF16; do
  mkdir -p "$TMP/$dt" "$TMP/${dt}f32"
  cp $TINY/config.json "$TMP/$dt/"; cp $TINY/config.json "$TMP/${dt}f32/"
  python3 tests/ref/st_convert.py $TINY/model.safetensors "$TMP/$dt/model.safetensors" $dt --prefix transformer.
  python3 tests/ref/st_convert.py $TINY/model.safetensors "$TMP/${dt}f32/model.safetensors" $dt --as-f32
  # read in place (the KV-cache forward) against its F32 rounding (the engine): 1e-6 apart
  A=$($PAL score --model "$TMP/$dt" --ids "$IDS" --json | jget loss); B=$($PAL score --model "$TMP/${dt}f32" --ids "$IDS" --json | jget loss)
  check "$dt (transformer. names) scores as its F32 rounding ($A vs $B)" near "$A" "$B" 2e-6
  check "$dt loss near the F32 loss" near "$A" "$WANT" 0.05
done

# ---- malformed model directories: "palimpsest: FILE: what is wrong", exit 1, no crash
cp -r $TINY "$TMP/bad"
head -c 5000 $TINY/model.safetensors >"$TMP/bad/model.safetensors"
check_fails "truncated model.safetensors" "^palimpsest: $TMP/bad/model.safetensors: tensor '.*' runs past the end of the file" $PAL score --model "$TMP/bad" --ids 1,2
printf '\377\377\377\377\000\000\000\000{}' >"$TMP/bad/model.safetensors"
check_fails "header length beyond the file" "^palimpsest: $TMP/bad/model.safetensors: header length 4294967295 runs past the end" $PAL score --model "$TMP/bad" --ids 1,2
printf '\010\000\000\000\000\000\000\000not json' >"$TMP/bad/model.safetensors"
check_fails "header not JSON" "model.safetensors: header is not valid JSON" $PAL score --model "$TMP/bad" --ids 1,2
cp $TINY/model.safetensors "$TMP/bad/"
sed -i 's/"n_head": 4/"n_head": 5/' "$TMP/bad/config.json"
check_fails "n_embd not divisible by n_head in config.json" "^palimpsest: $TMP/bad/config.json: .*divisible" $PAL score --model "$TMP/bad" --ids 1,2
sed -i 's/"n_head": 5/"n_head": 4/; s/"n_layer": 2/"n_layer": 0/' "$TMP/bad/config.json"
check_fails "zero layers in config.json" "config.json: n_layer" $PAL score --model "$TMP/bad" --ids 1,2
sed -i 's/"n_layer": 0/"n_layer": 2/; s/"n_embd": 24/"n_embd": 28/' "$TMP/bad/config.json"
check_fails "shapes that disagree with config.json" "tensor 'wte.weight' has shape \[97, 24\] but config.json makes it \[97, 28\]" $PAL score --model "$TMP/bad" --ids 1,2
check_fails "not a model directory" "no such directory" $PAL score --model "$TMP/none" --ids 1,2
# non-finite weights are refused at load, the tensor named (issue 17, defect 9)
$PAL init --config n_layer=1,n_head=2,n_embd=16,n_ctx=32 --out $TMP/nan --seed 1 >/dev/null 2>&1
poke() {  # poke DIR TENSOR VALUE: sets element 3 of TENSOR (F32) in DIR/model.safetensors
  python3 - "$@" <<'PY'
import json, struct, sys
d, name, value = sys.argv[1], sys.argv[2], float(sys.argv[3])
p = d + "/model.safetensors"
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
t = h.get(name) or h["transformer." + name]
off = 8 + n + t["data_offsets"][0] + 3 * 4
b[off:off + 4] = struct.pack("<f", value)
open(p, "wb").write(b)
PY
}
cp -r $TMP/nan $TMP/inf
poke $TMP/nan h.0.mlp.c_fc.weight nan
poke $TMP/inf ln_f.bias inf
check_fails "score refuses a NaN weight, naming the tensor" "h.0.mlp.c_fc.weight' holds a non-finite value \(NaN at element 3" \
  $PAL score --model $TMP/nan --ids 1,2,3
check_fails "sample refuses an infinite weight, naming the tensor" "ln_f.bias' holds a non-finite value \(\+inf" \
  $PAL sample --model $TMP/inf --length 3 --quiet
done_tests
