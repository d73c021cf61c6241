# test_format.sh: `palimpsest format` from the command line: flags, standard input, exact
# bytes, HTML pages, weave JSONL input, and clean errors.
source tests/lib.sh
F=tests/fixtures/present
printf 'The quick brown fox jumps over the lazy dog\n' >"$TMP/fox.txt"
check_eq "wraps at --width" "$(printf 'The quick\nbrown fox\njumps over\nthe lazy\ndog')" "$($PAL format --width 10 "$TMP/fox.txt")"
check_eq "reads standard input with -" "$(printf 'The quick brown fox\njumps over the lazy\ndog')" \
  "$(printf 'The quick brown fox jumps over the lazy dog' | $PAL format --width 20 -)"
check_eq "--center in a wider page" "$(printf '     The quick brown fox\n     jumps over the lazy\n             dog')" \
  "$($PAL format --width 20 --page-width 30 --center "$TMP/fox.txt")"
check_eq "--align right" "$(printf '      The quick brown fox\n      jumps over the lazy\n                      dog')" \
  "$($PAL format --width 20 --page-width 25 --align right "$TMP/fox.txt")"
printf 'one two\n\n\nthree   four\nfive\n' >"$TMP/poem.txt"
check_eq "stanza breaks kept" "$(printf 'one two\n\nthree four\nfive')" "$($PAL format "$TMP/poem.txt")"
check_eq "--reflow joins them" "one two three four five" "$($PAL format --reflow "$TMP/poem.txt")"
# the original script: wrap at 40, centre in 100; every line of CJK/emoji within 40 columns
printf '夜の海に灯りがともり、遠い港の名前をひとつずつ数えながら私たちは眠った。🌊🌊 and then the tide, slowly, carried every letter back\n' >"$TMP/wide.txt"
out=$($PAL format --width 40 --page-width 100 --center "$TMP/wide.txt")
check_eq "wide text: first line is 20 CJK characters centred in 100" \
  "                              夜の海に灯りがともり、遠い港の名前をひと" "$(printf '%s\n' "$out" | head -1)"
check "--out writes the file" $PAL format --width 12 --out "$TMP/o.txt" "$TMP/fox.txt"
check_eq "--out content" "$($PAL format --width 12 "$TMP/fox.txt")" "$(cat "$TMP/o.txt")"
check "-o is --out" bash -c "$PAL format --width 12 -o '$TMP/o2.txt' '$TMP/fox.txt' && cmp -s '$TMP/o.txt' '$TMP/o2.txt'"
# HTML
$PAL format --html --center --width 12 --title 'Tide <3' "$TMP/fox.txt" >"$TMP/p.html"
check "--html is a page" grep -q '^<!DOCTYPE html>' "$TMP/p.html"
check "--html escapes the title" grep -q '<h1>Tide &lt;3</h1>' "$TMP/p.html"
check "--html sets the wrapped lines centred" grep -q '<div class="text center">The quick' "$TMP/p.html"
check "--html has a print style sheet" grep -q '@media print' "$TMP/p.html"
check "--html has no script and no network" bash -c "! grep -Eq '<script|https?:' '$TMP/p.html'"
# a weave's text, its settings as caption
check_eq "weave JSONL gives its prompt and text" "$(printf 'At dusk the tide came<script> in, and the gulls\nwrote café 夜 letters on the sand.')" \
  "$($PAL format --width 60 $F/weave.jsonl)"
$PAL format --html --width 40 $F/weave.jsonl >"$TMP/w.html"
check "weave HTML caption has the settings" grep -q '<figcaption>weave, schedule timelapse · checkpoints at steps 10, 20, 40 · temperature 1 · seed 7</figcaption>' "$TMP/w.html"
check "weave HTML escapes a generated <script>" grep -q 'came&lt;script&gt; in' "$TMP/w.html"
check_eq "--title and --caption in text, centred like the text" "$(printf '   Fox\n\nThe quick\nbrown fox\njumps over\n the lazy\n   dog\n\n  (1908)')" \
  "$($PAL format --width 10 --center --title Fox --caption '(1908)' "$TMP/fox.txt")"
check "--caption replaces the generation's settings in HTML" bash -c "$PAL format --html --caption 'my <own>' $F/weave.jsonl | grep -q '<figcaption>my &lt;own&gt;</figcaption>'"
# errors
check_fails "missing file" "nope.txt" $PAL format "$TMP/nope.txt"
check_fails "width 0" "width" $PAL format --width 0 "$TMP/fox.txt"
check_fails "bad --align" "align" $PAL format --align middle "$TMP/fox.txt"
check_fails "--center with --align left" "contradicts" $PAL format --center --align left "$TMP/fox.txt"
check_fails "no input" "input" $PAL format
check_fails "unknown flag" "unknown flag" $PAL format --frobnicate "$TMP/fox.txt"
check "--help exits 0" $PAL format --help
# bounded memory (issue 17, defect 8): every character on its own line, padded to the middle
# of a 100,000-column page: 250 MB of output, streamed (peak memory stays near the input's)
python3 -c "print('a ' * 5000)" >"$TMP/chars.txt"
rss_kb=$(python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' $PAL format --width 1 --center --page-width 100000 "$TMP/chars.txt")
check "format --width 1 --center --page-width 100000: 250 MB out in under 64 MB of memory (got ${rss_kb:-?} KB)" \
  test "${rss_kb:-999999}" -lt 65536
check_eq "...and the lines are right" "$(printf '%49999s%s' '' a)" "$($PAL format --width 1 --center --page-width 100000 "$TMP/chars.txt" | sed -n 4999p)"
check "--html streams too" bash -c "$PAL format --html --width 1 '$TMP/chars.txt' | tail -1 | grep -q '</html>'"
done_tests
