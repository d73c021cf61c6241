# test_outputs.sh: every -o/--out of encode, mix, sweep, report and format (issue 17, defects
# 1 and 5): a device, a FIFO and "-" are written in place (never replaced by a regular file),
# a symlink's target is replaced and the link kept, a folder is refused; an output that is an
# input or a run's own file is refused with the file left as it was.
source tests/lib.sh
GPT2=data/tokenizer/gpt2
R=$TMP/run
$PAL init --config n_layer=1,n_head=2,n_embd=16,n_ctx=32 --out $R/checkpoint-0 --seed 1 >/dev/null 2>&1
echo '{"format":"palimpsest-run","version":1,"fingerprint":"0000000000000000","args":[]}' >$R/run.json
echo '{"type":"train","step":1,"loss":3.5,"lr":0.001}' >$R/log.jsonl
cp $R/log.jsonl $TMP/log.orig
printf 'The quick brown fox jumps over the lazy dog\n' >$TMP/a.txt
cp $TMP/a.txt $TMP/a.orig
$PAL encode --tokenizer $GPT2 $TMP/a.txt -o $TMP/ref.bin
SW="--run $R --temperatures 1.0 --n 1 --length 4 --seed 1 --ignore-eot --quiet"

kind() { stat -c %F "$1"; }
# fifo_run NAME CMD...: runs CMD (which writes the FIFO $TMP/NAME) with a reader attached;
# the bytes read land in $TMP/NAME.read
fifo_run() {
  local n=$1; shift
  rm -f $TMP/$n; mkfifo $TMP/$n
  timeout 20 cat $TMP/$n >$TMP/$n.read & local reader=$!
  "$@" >/dev/null 2>$TMP/$n.err; local rc=$?
  wait $reader
  return $rc
}

# ---- FIFOs: written in place, still FIFOs after
check "encode -o FIFO succeeds" fifo_run enc $PAL encode --tokenizer $GPT2 $TMP/a.txt -o $TMP/enc
check_eq "encode -o FIFO: still a FIFO" "fifo" "$(kind $TMP/enc)"
check "encode -o FIFO: the reader got the shard's exact bytes" cmp -s $TMP/ref.bin $TMP/enc.read
check "mix -o FIFO succeeds" fifo_run mix $PAL mix $TMP/a.txt -o $TMP/mix --no-provenance --quiet
check_eq "mix -o FIFO: still a FIFO, the text read" "fifo The quick brown fox jumps over the lazy dog" "$(kind $TMP/mix) $(cat $TMP/mix.read)"
check "format -o FIFO succeeds" fifo_run fmt $PAL format --width 10 -o $TMP/fmt $TMP/a.txt
check_eq "format -o FIFO: still a FIFO, the text read" "fifo $($PAL format --width 10 $TMP/a.txt)" "$(kind $TMP/fmt) $(cat $TMP/fmt.read)"
check "sweep --out FIFO succeeds" fifo_run sw $PAL sweep $SW --out $TMP/sw
check "sweep --out FIFO: still a FIFO, one record read" bash -c "[ \"\$(stat -c %F $TMP/sw)\" = fifo ] && grep -c '\"step\"' $TMP/sw.read | grep -qx 1"
check "report -o FIFO succeeds" fifo_run rep $PAL report $R -o $TMP/rep
check "report -o FIFO: still a FIFO, a page read" bash -c "[ \"\$(stat -c %F $TMP/rep)\" = fifo ] && grep -q '^<!DOCTYPE html>' $TMP/rep.read"

# ---- devices (made here as root: a null device and a full one)
if mknod $TMP/null c 1 3 2>/dev/null && mknod $TMP/full c 1 7 2>/dev/null; then
  check "encode -o a null device" $PAL encode --tokenizer $GPT2 $TMP/a.txt -o $TMP/null
  check "mix -o a null device --force" $PAL mix $TMP/a.txt -o $TMP/null --force --no-provenance --quiet
  check "mix -o a null device without --force (nothing is overwritten)" $PAL mix $TMP/a.txt -o $TMP/null --no-provenance --quiet
  check "sweep --out a null device" $PAL sweep $SW --out $TMP/null
  check "report -o a null device" $PAL report $R -o $TMP/null
  check "format -o a null device" $PAL format -o $TMP/null $TMP/a.txt
  check_eq "the null device is still a character device" "character special file" "$(kind $TMP/null)"
  check_fails "sweep --out a full device fails" "No space left on device" $PAL sweep $SW --out $TMP/full
  check_fails "encode -o a full device fails" "No space left on device" $PAL encode --tokenizer $GPT2 $TMP/a.txt -o $TMP/full
  check_fails "format -o a full device fails" "No space left on device" $PAL format -o $TMP/full $TMP/a.txt
  check_eq "the full device is still a character device" "character special file" "$(kind $TMP/full)"
else
  ok "devices: skipped (mknod needs root)"
fi

# ---- symlinks: the target is replaced, the link stays a link
mkdir -p $TMP/real
for c in enc mix fmt sw rep; do echo old >$TMP/real/$c; ln -s real/$c $TMP/link_$c; done
$PAL encode --tokenizer $GPT2 $TMP/a.txt -o $TMP/link_enc
$PAL mix $TMP/a.txt -o $TMP/link_mix --force --no-provenance --quiet
$PAL format -o $TMP/link_fmt $TMP/a.txt
$PAL sweep $SW --out $TMP/link_sw
$PAL report $R -o $TMP/link_rep 2>/dev/null
check "every link is still a symlink" bash -c "for c in enc mix fmt sw rep; do [ -L $TMP/link_\$c ] || exit 1; done"
check "encode -o LINK wrote the target" cmp -s $TMP/ref.bin $TMP/real/enc
check_eq "mix -o LINK wrote the target" "The quick brown fox jumps over the lazy dog" "$(cat $TMP/real/mix)"
check_eq "format -o LINK wrote the target" "$($PAL format $TMP/a.txt)" "$(cat $TMP/real/fmt)"
check "sweep --out LINK wrote the target" grep -q '"step"' $TMP/real/sw
check "report -o LINK wrote the target" grep -q '^<!DOCTYPE html>' $TMP/real/rep
ln -s $TMP/nowhere/x $TMP/dangling
check_fails "a dangling link into no folder: a clear error" "cannot create" $PAL format -o $TMP/dangling $TMP/a.txt
ln -s loop2 $TMP/loop1; ln -s loop1 $TMP/loop2
check_fails "a symlink loop is refused" "too many levels of symbolic links" $PAL format -o $TMP/loop1 $TMP/a.txt
chmod 600 $TMP/real/fmt
$PAL format -o $TMP/real/fmt $TMP/a.txt
check_eq "a replaced file keeps its mode" "600" "$(stat -c %a $TMP/real/fmt)"

# ---- "-" is standard output; a folder is refused
check "encode -o - writes the shard to stdout" bash -c "$PAL encode --tokenizer $GPT2 $TMP/a.txt -o - | cmp -s - $TMP/ref.bin"
check "format -o - writes stdout" bash -c "$PAL format -o - $TMP/a.txt | grep -q quick"
check "sweep --out - writes stdout" bash -c "$PAL sweep $SW --out - | grep -q '\"step\"'"
check_fails "sweep --out FOLDER is refused" "is a directory" $PAL sweep $SW --out $TMP/real
check_fails "format -o FOLDER is refused" "is a directory" $PAL format -o $TMP/real $TMP/a.txt

# ---- defect 5: an output that is an input, or a run's own file
check_fails "encode f.txt -o f.txt is refused" "is also an input" $PAL encode --tokenizer $GPT2 $TMP/a.txt -o $TMP/a.txt
check "encode f.txt -o f.txt: the input is intact" cmp -s $TMP/a.txt $TMP/a.orig
ln -s a.txt $TMP/a_link
check_fails "encode f.txt -o LINK-TO-f.txt is refused" "is also an input" $PAL encode --tokenizer $GPT2 $TMP/a.txt -o $TMP/a_link
check_fails "format f -o f is refused" "is also an input" $PAL format -o $TMP/a.txt $TMP/a.txt
check_fails "sweep --out RUN/log.jsonl is refused" "a run's own file" $PAL sweep $SW --out $R/log.jsonl
check_fails "report -o RUN/log.jsonl is refused" "a run's own file" $PAL report $R -o $R/log.jsonl
check_fails "report -o RUN/run.json is refused" "a run's own file" $PAL report $R -o $R/run.json
check_fails "report -o RUN/checkpoint-0/x is refused" "a run's own files" $PAL report $R -o $R/checkpoint-0/x.html
check_fails "format -o MODEL/config.json is refused" "model directory" $PAL format -o $R/checkpoint-0/config.json $TMP/a.txt
check_fails "report -o SWEEP (its own input) is refused" "is also an input" $PAL report $R --sweep $TMP/real/sw -o $TMP/real/sw
check "the run's log is intact" cmp -s $R/log.jsonl $TMP/log.orig
check "a new file beside a run is fine (RUN/sweep.jsonl)" $PAL sweep $SW --out $R/sweep.jsonl

# ---- tokenizer train: a model's tokenizer is never replaced; the pair is one unit
for i in 1 2 3 4 5 6 7 8; do echo "the sea, the sea at night and the tide $i" ; done >$TMP/text.txt
M=$R/checkpoint-0
cp $M/vocab.json $TMP/vocab.orig
check_fails "tokenizer train --out MODEL is refused" "not a tokenizer folder" $PAL tokenizer train --vocab-size 300 $TMP/text.txt --out $M
check_fails "tokenizer train --out MODEL --force is refused too" "not a tokenizer folder" $PAL tokenizer train --vocab-size 300 $TMP/text.txt --out $M --force
check "the model's vocab.json is intact" cmp -s $M/vocab.json $TMP/vocab.orig
check "tokenizer train into a new folder" $PAL tokenizer train --vocab-size 300 $TMP/text.txt --out $TMP/tok
check_fails "tokenizer train over a tokenizer needs --force" "already holds a tokenizer" $PAL tokenizer train --vocab-size 290 $TMP/text.txt --out $TMP/tok
cp $TMP/tok/vocab.json $TMP/tok_vocab.first
check "tokenizer train --force replaces it" $PAL tokenizer train --vocab-size 260 $TMP/text.txt --out $TMP/tok --force
check "the replaced vocab.json is the new one" bash -c "! cmp -s $TMP/tok/vocab.json $TMP/tok_vocab.first"
check_eq "the replaced pair agrees: tokens = 257 + merges" "0" "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))) - 257 - (sum(1 for _ in open(sys.argv[2])) - 1))" $TMP/tok/vocab.json $TMP/tok/merges.txt)"
check "no temporary folder is left" bash -c "! ls -d $TMP/tok.tmp.* 2>/dev/null | grep -q ."
cp -r $TMP/tok $TMP/tok.before
# a full disk while writing the pair (the second file fails): the old pair stays whole
PAL_FAIL_WRITE_AFTER=1000 $PAL tokenizer train --vocab-size 300 $TMP/text.txt --out $TMP/tok --force 2>/dev/null
check "a full disk during the pair leaves the old pair whole" diff -r $TMP/tok $TMP/tok.before
PAL_FAIL_WRITE_AFTER=1000 $PAL tokenizer train --vocab-size 300 $TMP/text.txt --out $TMP/tok_new 2>/dev/null
check "a full disk during a new pair leaves no half of it" test ! -e $TMP/tok_new/merges.txt -a ! -e $TMP/tok_new/vocab.json
mkdir $TMP/empty
check "tokenizer train into an empty folder" $PAL tokenizer train --vocab-size 300 $TMP/text.txt --out $TMP/empty
check "the empty folder now holds the pair" test -s $TMP/empty/vocab.json -a -s $TMP/empty/merges.txt
done_tests
