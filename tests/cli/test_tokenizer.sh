#!/usr/bin/env bash
# test_tokenizer.sh: encode / decode / tokenizer train from the command line: GPT-2's ids
# (tiktoken's, hard-coded), shards that decode back byte for byte, files joined by
# <|endoftext|>, thread counts that agree, terminal-safe decoding, and clean failures.
. "$(dirname "$0")/../lib.sh"
GPT2=data/tokenizer/gpt2

# a text of our own, a few hundred KB, with long and short lines and blank lines
gen_text() {
  local i
  for i in $(seq 1 "$1"); do
    printf 'Line %d: the keeper'"'"'s lamp, %d moths and   three  spaces.\n' "$i" $((i * 7))
    [ $((i % 5)) -eq 0 ] && printf '\n\n\t indented after a blank line; caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac!\n'
    [ $((i % 11)) -eq 0 ] && printf 'raw \xff\xfe bytes and a NUL \x00 here\n'
  done
}
gen_text 2000 > "$TMP/text.txt"

if [ -f "$GPT2/vocab.json" ]; then
  printf 'Hello world' > "$TMP/a.txt"
  printf ' again' > "$TMP/b.txt"
  check_eq "encode --ids gives GPT-2's ids" "15496,995" "$($PAL encode --tokenizer $GPT2 --ids "$TMP/a.txt")"
  check_eq "two files are joined by <|endoftext|>" "15496,995,50256,757" \
    "$($PAL encode --tokenizer $GPT2 --ids "$TMP/a.txt" "$TMP/b.txt")"
  check "encode -o writes a shard" $PAL encode --tokenizer $GPT2 "$TMP/a.txt" "$TMP/b.txt" -o "$TMP/ab.bin"
  check_eq "the shard holds 1024 + 2*4 bytes" 1032 "$(stat -c %s "$TMP/ab.bin")"
  check_eq "decode SHARD gives the texts and the separator back" "Hello world<|endoftext|> again" \
    "$($PAL decode --tokenizer $GPT2 "$TMP/ab.bin")"
  printf 'a<|endoftext|>b' > "$TMP/s.txt"
  check_eq "<|endoftext|> is ordinary text by default" "64,27,91,437,1659,5239,91,29,65" \
    "$($PAL encode --tokenizer $GPT2 --ids "$TMP/s.txt")"
  check_eq "--allow-special makes it 50256" "64,50256,65" \
    "$($PAL encode --tokenizer $GPT2 --ids --allow-special "$TMP/s.txt")"
  check_eq "stdin (-) encodes" "15496,995" "$(printf 'Hello world' | $PAL encode --tokenizer $GPT2 --ids -)"
  check "--model DIR works as --tokenizer" $PAL encode --model $GPT2 --ids "$TMP/a.txt"
  mkdir -p "$TMP/openai" && cp $GPT2/vocab.json "$TMP/openai/encoder.json" && cp $GPT2/merges.txt "$TMP/openai/vocab.bpe"
  check_eq "OpenAI's names (encoder.json + vocab.bpe) load too" "15496,995" \
    "$($PAL encode --tokenizer "$TMP/openai" --ids "$TMP/a.txt")"

  $PAL encode --tokenizer $GPT2 "$TMP/text.txt" -o "$TMP/t1.bin" --threads 1
  $PAL encode --tokenizer $GPT2 "$TMP/text.txt" -o "$TMP/t2.bin" --threads 2 --chunk-bytes 4096
  $PAL encode --tokenizer $GPT2 "$TMP/text.txt" -o "$TMP/t3.bin" --threads 3 --chunk-bytes 100
  check "1 thread, 2 threads in 4 KB chunks: identical shards" cmp -s "$TMP/t1.bin" "$TMP/t2.bin"
  check "3 threads in 100-byte chunks: identical shard" cmp -s "$TMP/t1.bin" "$TMP/t3.bin"
  $PAL decode --tokenizer $GPT2 "$TMP/t2.bin" > "$TMP/back.txt"
  check "decode(encode(text)) is the text byte for byte (invalid UTF-8 and NUL too)" cmp -s "$TMP/text.txt" "$TMP/back.txt"

  check_eq "decode --ids to a pipe: the exact bytes of half a character" "e697" \
    "$($PAL decode --tokenizer $GPT2 --ids 33768 | od -An -tx1 | tr -d ' \n')"
  check_eq "decode --ids 15496,995" "Hello world" "$($PAL decode --tokenizer $GPT2 --ids 15496,995)"
  tty_out=$(script -qc "$PAL decode --tokenizer $GPT2 --ids 33768" /dev/null 2>/dev/null | od -An -tx1 | tr -d ' \n')
  case "$tty_out" in
    *efbfbd*) ok "to a terminal, half a character is shown as U+FFFD" ;;
    "") ok "to a terminal: skipped (no 'script' pseudo-terminal)" ;;
    *) not_ok "to a terminal, half a character is shown as U+FFFD (got $tty_out)" ;;
  esac

  check_fails "an id out of range fails" "50257 is out of range" $PAL decode --tokenizer $GPT2 --ids 50257
  head -c 1030 "$TMP/t1.bin" > "$TMP/short.bin"
  check_fails "a truncated shard fails naming the file" "short.bin: header says" $PAL decode --tokenizer $GPT2 "$TMP/short.bin"
  check_fails "a text file is not a shard" "text.txt: not a token shard" $PAL decode --tokenizer $GPT2 "$TMP/text.txt"
  check_fails "encode without -o or --ids says what to do" "give -o OUT.bin or --ids" $PAL encode --tokenizer $GPT2 "$TMP/a.txt"
  check_fails "a missing input is named" "no_such.txt: cannot open" $PAL encode --tokenizer $GPT2 "$TMP/no_such.txt" -o "$TMP/none.bin"
  check "and leaves no shard" test ! -e "$TMP/none.bin"
  check_fails "an unwritable output fails" "cannot create" $PAL encode --tokenizer $GPT2 "$TMP/a.txt" -o "$TMP/no/dir/x.bin"
  if [ "${PAL_SANITIZED:-0}" = 0 ] && [ -x /usr/bin/time ]; then
    # 128 MB through stdin: memory stays far below the input's size
    rss=$(yes "The keeper's lamp burned low; 42 moths  circled it." | head -c 128M |
          /usr/bin/time -f "%M" $PAL encode --tokenizer $GPT2 - -o "$TMP/big.bin" 2>&1 >/dev/null | tail -1)
    check_eq "128 MB streamed: 1024 + 2 x 38716652 bytes of shard" 77434328 "$(stat -c %s "$TMP/big.bin" 2>/dev/null)"
    if [ "${rss:-999999}" -lt 98304 ] 2>/dev/null; then ok "128 MB streamed in ${rss} KB of memory (< 96 MB)"
    else not_ok "128 MB streamed in under 96 MB of memory (max RSS ${rss} KB)"; fi
    rm -f "$TMP/big.bin"
  fi
else
  echo "# GPT-2 checks skipped: $GPT2 missing (run scripts/setup.sh)"
fi

check_fails "no tokenizer in a directory" "no tokenizer here" $PAL encode --tokenizer "$TMP" --ids "$TMP/text.txt"
check_fails "decode needs --ids or a shard" "either --ids LIST or one SHARD" $PAL decode --tokenizer "$TMP"
check_fails "unknown flag" "unknown flag" $PAL encode --bogus

# training our own
check "tokenizer train writes a tokenizer" $PAL tokenizer train --vocab-size 600 "$TMP/text.txt" --out "$TMP/tok"
check "vocab.json and merges.txt are there" test -s "$TMP/tok/vocab.json" -a -s "$TMP/tok/merges.txt"
check_eq "merges.txt: the version line and 343 merges" 344 "$(wc -l < "$TMP/tok/merges.txt")"
$PAL tokenizer train --vocab-size 600 "$TMP/text.txt" --out "$TMP/tok2" 2>/dev/null
check "training twice gives the same files" cmp -s "$TMP/tok/merges.txt" "$TMP/tok2/merges.txt"
check "and the same vocab.json" cmp -s "$TMP/tok/vocab.json" "$TMP/tok2/vocab.json"
check "the trained tokenizer encodes" $PAL encode --tokenizer "$TMP/tok" "$TMP/text.txt" -o "$TMP/own.bin"
$PAL decode --tokenizer "$TMP/tok" "$TMP/own.bin" > "$TMP/own.txt"
check "and round-trips the text" cmp -s "$TMP/text.txt" "$TMP/own.txt"
check_eq "<|endoftext|> is its last id" "599" "$(printf '<|endoftext|>' | $PAL encode --tokenizer "$TMP/tok" --ids --allow-special -)"
check_fails "--vocab-size is required" "vocab-size N is required" $PAL tokenizer train "$TMP/text.txt" --out "$TMP/x"
check_fails "tokenizer without train" "unknown or missing subcommand" $PAL tokenizer
# one 2 MB word (issue 17, defect 8): at most 16 bytes of memory per input byte above the
# program's own (measured against encoding one byte), the same ids as the short-piece path
if [ "${PAL_SANITIZED:-0}" != 1 ]; then
  python3 -c "
import random; random.seed(5)
open('$TMP/word.txt', 'w').write(''.join(random.choice('abcdefghij') for _ in range(2000000)))" && printf x >"$TMP/x.txt"
  rss() { python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"; }
  base=$(rss $PAL encode --tokenizer $GPT2 "$TMP/x.txt" -o "$TMP/x.bin")
  big=$(rss $PAL encode --tokenizer $GPT2 "$TMP/word.txt" -o "$TMP/word.bin")
  check "a 2 MB word encodes in at most 16 bytes per byte (got $(( (big - base) * 1024 / 2000000 )) bytes per byte)" \
    test $(( (big - base) * 1024 )) -le $(( 16 * 2000000 ))
  check_eq "...its ids are the shard's" "$($PAL encode --tokenizer $GPT2 --ids "$TMP/word.txt" | tr ',' '\n' | wc -l)" \
    "$(python3 -c "import os; print((os.path.getsize('$TMP/word.bin') - 1024) // 2)")"
fi
done_tests
