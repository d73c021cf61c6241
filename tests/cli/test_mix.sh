# test_mix.sh: `palimpsest mix` end to end: the original four-source recipe (flags and
# INI), positional options, provenance read back from the sources, invalid UTF-8, a 5 MB
# line, binary input, and every error as one line with nothing written.
source tests/lib.sh
PAL="$(cd "$(dirname "$PAL")" && pwd)/$(basename "$PAL")"
cd "$TMP"

# ---- a four-source fixture in the shape of the original mixture (texts written here)
printf 'The sea was calm. Mr. Ahab\nwalked the deck. He said nothing!\n\nThe crew waited... Then they slept.\n' > prose.txt
printf 'a rose\nthe thorn\n\nthe stem\nthe root\nthe earth\n' > poems.txt
printf 'Home team wins. The Hawks beat them 5-3 in 1961. Ok. A very long sentence that goes on and on and on and on beyond any reasonable length.\nFans cheered, loudly!\n' > sports.txt
printf 'd one\nd two\nd three\nd four\n' > slurry.txt
want='The sea was calm.
a rose
Home team wins
d one
Mr. Ahab walked the deck.
the thorn
The Hawks beat them in
d two
He said nothing!
the stem
Fans cheered loudly
d three'

$PAL mix --unit sentence prose.txt --unit line poems.txt \
  --unit period --min-chars 6 --max-chars 79 --strip punct,digits --collapse-space sports.txt \
  --reset slurry.txt -o flags.txt --quiet
check_eq "original method by flags: A1 B1 C1 D1 A2 ... stops at the shortest" "$want" "$(cat flags.txt)"

cat > original.ini <<'EOF'
# the original method
[mix]
interleave = round-robin
until = shortest

[source prose]
path = prose.txt
unit = sentence

[source poems]
path = poems.txt

[source sports]
path = sports.txt
unit = period
min-chars = 6
max-chars = 79
measure = raw
strip = punct,digits
collapse-space = yes

[source slurry]
path = slurry.txt
unit = line
EOF
stats=$($PAL mix --recipe original.ini -o recipe.txt --stats --quiet)
check_eq "the same by recipe" "$want" "$(cat recipe.txt)"
check_eq "--stats header" "source	path	unit	read	kept	used	too_short	too_long	empty	matched	bytes_out" "$(echo "$stats" | head -1)"
check_eq "--stats for the filtered source" "sports	sports.txt	period	5	3	3	1	1	0	0	58" "$(echo "$stats" | grep '^sports')"
check_eq "--stats for a longer source: read one more than used" "prose	prose.txt	sentence	4	4	3	0	0	0	0	61" "$(echo "$stats" | grep '^prose')"

# ---- provenance: each row's bytes, read back from its source, are the unit
prov=recipe.txt.provenance.tsv
check_eq "provenance has a row per unit" "13" "$(wc -l < $prov | tr -d ' ')"
bad=0
while IFS=$'\t' read -r n src idx off len ooff olen; do
  [ "$n" = out_line ] && continue
  raw=$(tail -c +$((off + 1)) "$src" | head -c "$len" | tr '\n' ' ')
  unit=$(tail -c +$((ooff + 1)) recipe.txt | head -c "$olen")
  if [ "$src" = sports.txt ]; then
    case $n in 3) [ "$raw" = "Home team wins" ] || bad=1 ;; 7) [ "$raw" = "The Hawks beat them 5-3 in 1961" ] || bad=1 ;; esac
  elif [ "$raw" != "$unit" ]; then bad=1; echo "row $n: '$raw' vs '$unit'"; fi
done < $prov
check_eq "every provenance row points at the right source bytes and output bytes" 0 $bad
check_eq "a wrapped sentence's row: index, offset, length" "5	prose.txt	1	18	25	46	25" "$(sed -n 6p $prov)"

# ---- positional options persist until changed; --reset
printf 'Hello, World!\n' > x.txt
cp x.txt y.txt
$PAL mix --strip punct --lowercase x.txt y.txt --reset x.txt -o pos.txt --until longest --quiet --no-provenance
check_eq "flags apply to every later source until --reset" "hello world
hello world
Hello, World!" "$(cat pos.txt)"
check "--no-provenance writes none" test ! -e pos.txt.provenance.tsv

# ---- standard input
printf 'one\ntwo\n' | $PAL mix - x.txt -o stdin.txt --until longest --quiet
check_eq "'-' reads standard input" "one
Hello, World!
two" "$(cat stdin.txt)"
check_eq "its provenance says '-'" "1	-	0	0	3	0	3" "$(sed -n 2p stdin.txt.provenance.tsv)"
check_fails "spread cannot read standard input" "spread reads every source twice" $PAL mix --interleave spread - x.txt -o s.txt

# ---- UTF-8, long lines, binary
printf 'good\nbad \xff here\n' > badutf.txt
err=$($PAL mix badutf.txt -o utf.txt 2>&1 >/dev/null); rc=$?
check_eq "invalid UTF-8 passes" 0 $rc
check "the warning names file and offset" grep -q "warning: badutf.txt: invalid UTF-8 at byte offset 9" <<<"$err"
check "the bytes pass through unchanged" cmp -s badutf.txt utf.txt
head -c 5000000 /dev/zero | tr '\0' x > big.txt
printf '\n\nThe end.\n' >> big.txt
check "a 5 MB line mixes" $PAL mix --unit sentence big.txt -o big.out --quiet
check_eq "the 5 MB line is one unit" "5000000 8" "$(awk '{ print length }' big.out | tr '\n' ' ' | sed 's/ $//')"
printf 'some text\0more\n' > bin.txt
check_fails "binary input refused" "palimpsest: bin.txt: NUL byte at offset 9: binary input refused \(use --binary-ok\)" $PAL mix bin.txt -o bin.out
check "nothing written for binary input" test ! -e bin.out
check "--binary-ok lets it through" $PAL mix --binary-ok bin.txt -o bin.out --quiet

# ---- errors: one line naming the file (and line), nothing written
left() { ls out.txt* 2>/dev/null | wc -l | tr -d ' '; }
check_fails "a missing source" "^palimpsest: nope.txt: cannot open: No such file" $PAL mix x.txt nope.txt -o out.txt
check_fails "a source empty after filtering" "^palimpsest: y.txt: no units left after filtering \(1 read: 1 too short" \
  $PAL mix x.txt --min-chars 100 y.txt -o out.txt
check_fails "min > max" "^palimpsest: mix: y.txt: --min-chars 9 is greater than --max-chars 3" $PAL mix --min-chars 9 --max-chars 3 y.txt -o out.txt
check_fails "a flag after the last source" "'--lowercase' comes after the last source and applies to none" $PAL mix x.txt --lowercase -o out.txt
check_fails "an unknown flag" "unknown flag '--bogus'" $PAL mix --bogus x.txt -o out.txt
check_fails "a bad value" "unit: 'word' is not line, sentence, paragraph or period" $PAL mix --unit word x.txt -o out.txt
check_fails "a bad pattern" "drop-matching '\(x': missing closing parenthesis" $PAL mix --drop-matching '(x' x.txt -o out.txt
check_fails "no output" "no output file" $PAL mix x.txt
printf '[mix]\nuntil = shortest\n[source a]\npath = x.txt\nthis is not a setting\n' > bad1.ini
check_fails "a bad recipe line" "^palimpsest: bad1.ini:5: expected 'key = value'$" $PAL mix --recipe bad1.ini -o out.txt
printf '[mix]\n[source a]\npath = x.txt\ncolour = blue\n' > bad2.ini
check_fails "an unknown recipe key" "^palimpsest: bad2.ini:4: unknown key 'colour' in \[source a\]" $PAL mix --recipe bad2.ini -o out.txt
printf '[source a]\npath = x.txt\nmin-chars = 9\nmax-chars = 3\n' > bad3.ini
check_fails "min > max in a recipe" "^palimpsest: bad3.ini:1: min-chars 9 is greater than max-chars 3" $PAL mix --recipe bad3.ini -o out.txt
printf '[source a]\nunit = line\n[source b]\npath = y.txt\n' > bad4.ini
check_fails "a source without a path" "^palimpsest: bad4.ini:1: \[source a\] has no path" $PAL mix --recipe bad4.ini -o out.txt
printf '[mix]\nuntil = forever\n' > bad5.ini
check_fails "a bad [mix] value" "^palimpsest: bad5.ini:2: until: 'forever' is not shortest, longest or a count" $PAL mix --recipe bad5.ini -o out.txt
printf '[mixer]\n' > bad6.ini
check_fails "an unknown section" "^palimpsest: bad6.ini:1: unknown section \[mixer\]" $PAL mix --recipe bad6.ini -o out.txt
check_fails "sources and a recipe together" "sources come from the recipe" $PAL mix --recipe original.ini x.txt -o out.txt
check_eq "no error left a file behind" 0 "$(left)"
echo keep > out.txt
check_fails "no overwrite without --force" "out.txt: already exists \(use --force to overwrite\)" $PAL mix x.txt -o out.txt
check_eq "the old file is untouched" keep "$(cat out.txt)"
check "--force overwrites" $PAL mix x.txt -o out.txt --force --quiet
check_eq "the new mixture" "Hello, World!" "$(cat out.txt)"
check "the output's folders are made" $PAL mix x.txt -o sub/dir/m.txt --quiet
check "...holding the mixture" test -s sub/dir/m.txt
check_fails "a failing mix makes no folder" "nope.txt: cannot open" $PAL mix nope.txt -o other/m.txt
check "...none" test ! -e other
check "mix --help" bash -c "$PAL mix --help | grep -q -- '--interleave MODE'"
check "corpus --help" bash -c "$PAL corpus --help | grep -q 'corpus fetch'"
check_fails "an unknown corpus subcommand" "corpus: unknown subcommand 'frob'" $PAL corpus frob
# a PCRE2 error is an error, not "no match" (issue 17, defect 6): this line matches ('z') but
# the first alternative backtracks past the match limit at the line's start
python3 -c "print('x' * 40 + 'z'); print('plain')" > backtrack.txt
check_fails "--drop-matching: a match limit is an error naming the unit" \
  "backtrack.txt: unit 1 \(byte 0, 41 bytes\): --drop-matching .* failed: match limit exceeded" \
  $PAL mix --drop-matching '(x+x+)+y|z' backtrack.txt -o bt.txt --no-provenance --quiet
check "...and nothing is written" test ! -e bt.txt
check_eq "an ordinary match still drops the unit" "plain" \
  "$($PAL mix --drop-matching 'x+z' backtrack.txt -o bt2.txt --no-provenance --quiet && cat bt2.txt)"
done_tests
