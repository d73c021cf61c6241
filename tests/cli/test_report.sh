# test_report.sh: `palimpsest report` in a real browser: Debian's headless Chromium loads the
# page, its DOM is dumped and checked (charts, grid cells, coloured tokens, escaping), a
# screenshot is kept as an artefact; the page stays well formed with an empty sweep or a
# one-step run. Chromium is in scripts/setup.sh's packages, so a missing one fails.
source tests/lib.sh
F=tests/fixtures/present
ART=${PAL_BUILD:-build}/artifacts
mkdir -p "$ART"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
browser() {  # browser FILE.html ARGS...: headless Chromium with a fresh profile, no network
  local page=$1; shift
  local profile; profile=$(mktemp -d "$TMP/profile.XXXXXX")
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-quic --user-data-dir="$profile" "$@" \
    "file://$(realpath "$page")" 2>"$TMP/chromium.err"
}
# a well-formedness check of the page's own bytes: every non-void element closed in order
wellformed() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, html.parser
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "wbr", "source"}
SVG_VOID = {"line", "rect", "circle", "polyline", "path"}
class P(html.parser.HTMLParser):
    def __init__(s): super().__init__(); s.stack = []; s.bad = []
    def handle_starttag(s, t, a):
        if t not in VOID: s.stack.append(t)
    def handle_startendtag(s, t, a):
        if t not in VOID and t not in SVG_VOID: s.bad.append("self-closed " + t)
    def handle_endtag(s, t):
        if not s.stack or s.stack[-1] != t: s.bad.append("unexpected </%s> (open: %s)" % (t, s.stack[-3:]))
        else: s.stack.pop()
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read()); p.close()
if p.stack or p.bad: print(p.bad[:3], p.stack[-3:]); sys.exit(1)
PY
}
count() { grep -o -- "$1" "$2" | wc -l; }

if [ -z "$CHROMIUM" ]; then
  not_ok "chromium is missing (scripts/setup.sh installs it): the browser test cannot run"
  done_tests
fi

$PAL report $F/run --sweep $F/sweep.jsonl --weave $F/weave.jsonl -o "$TMP/report.html" 2>/dev/null
check "report writes the page" test -s "$TMP/report.html"
check "the page is well formed" wellformed "$TMP/report.html"
check "no script, no network in the page" bash -c "! grep -Eiq '<script|src=|href=\"?https?:|@import' '$TMP/report.html'"
browser "$TMP/report.html" --dump-dom >"$TMP/dom.html"
check "chromium loads the page and dumps its DOM" grep -q '</footer>' "$TMP/dom.html"
check_eq "two loss charts in the DOM" 2 "$(count '<svg class="chart"' "$TMP/dom.html")"
check_eq "three loss lines: training + 2 sources" 3 "$(count '<polyline class="series"' "$TMP/dom.html")"
check "charts have axis tick labels" grep -q '<text class="xtick"[^>]*>40</text>' "$TMP/dom.html"
check "legend names the sources" bash -c "grep -q '<g class=\"legend\">.*>verse</text>.*>prose</text>' '$TMP/dom.html'"
check_eq "two curriculum swaps marked on each chart" 4 "$(count '<g class="swap">' "$TMP/dom.html")"
check "the swap is labelled" grep -q '→ prose' "$TMP/dom.html"
check_eq "each source's span tinted in its colour (2 spans x 2 charts)" 4 "$(count '<rect class="band"' "$TMP/dom.html")"
check_eq "sweep grid: 2 checkpoints x 3 temperatures = 6 cells" 6 "$(count '<td class="cell' "$TMP/dom.html")"
check_eq "one degenerate cell flagged" 1 "$(count '<span class="flag">degenerate</span>' "$TMP/dom.html")"
check "grid columns are temperatures in order" bash -c "grep -q 'temperature 0.7</th><th>temperature 1</th><th>temperature 1.3</th>' '$TMP/dom.html'"
check "measures shown" grep -q 'distinct-2 0.11' "$TMP/dom.html"
check_eq "weave: 18 coloured token spans" 18 "$(count '<span class="tok" style="background:hsl' "$TMP/dom.html")"
check_eq "weave legend: 3 checkpoints" 3 "$(grep -o '<ul class="legend">.*</ul>' "$TMP/dom.html" | grep -o '<li>' | wc -l)"
check "weave strip drawn" grep -q '<svg class="strip"' "$TMP/dom.html"
check "a generated <script> stays text in the sweep" grep -q '&lt;script&gt;alert(.x.)&lt;/script&gt; &amp; wander' "$TMP/dom.html"
check "a generated <script> token stays text" grep -q '<span class="tok"[^>]*>&lt;script&gt;</span>' "$TMP/dom.html"
check "the browser made no script element" bash -c "! grep -qi '<script' '$TMP/dom.html'"
check "run.json keys are escaped" grep -q '<dt>&lt;b&gt;</dt><dd>&lt;i&gt;not bold&lt;/i&gt;</dd>' "$TMP/dom.html"
browser "$TMP/report.html" --window-size=1280,2000 --hide-scrollbars --screenshot="$TMP/shot.png" >/dev/null
check "a screenshot is taken (> 20 KB png)" bash -c "[ \$(stat -c %s '$TMP/shot.png' 2>/dev/null || echo 0) -gt 20000 ]"
cp "$TMP/shot.png" "$ART/report.png" 2>/dev/null && cp "$TMP/report.html" "$ART/report.html"

# a weave of two samples (interleaved token lines), one voice a blend
$PAL report $F/run --weave $F/weave.jsonl --weave $F/weave2.jsonl -o "$TMP/w2.html" 2>/dev/null
check "two weaves: well formed" wellformed "$TMP/w2.html"
check_eq "two weaves, the second with two samples: 3 token texts" 3 "$(count '<div class="weave">' "$TMP/w2.html")"
check "samples are kept apart" grep -q '<div class="weave"><span class="tok"[^>]*>Ink</span><span class="tok"[^>]*> on</span>' "$TMP/w2.html"
check "a blend's weights are in the token's title" grep -q 'title="checkpoint 1 · step 20 · 75% of 1 · 25% of 0"' "$TMP/w2.html"
check_eq "format joins the samples as stanzas" "$(printf 'Salt and rope\n\nInk on sails')" "$($PAL format $F/weave2.jsonl)"

# an empty sweep and a one-step run
$PAL report $F/run1 --sweep $F/sweep_empty.jsonl -o "$TMP/small.html" 2>/dev/null
check "one-step run with an empty sweep: page written" test -s "$TMP/small.html"
check "one-step run with an empty sweep: well formed" wellformed "$TMP/small.html"
browser "$TMP/small.html" --dump-dom >"$TMP/small_dom.html"
check "one-step run: chromium loads it" grep -q '</footer>' "$TMP/small_dom.html"
check_eq "one-step run: training line of one point" 1 "$(count '<polyline class="series" fill="none" stroke="[^"]*" points="[0-9.]*,[0-9.]*"' "$TMP/small_dom.html")"
check "one-step run: the point is marked" grep -q '<circle' "$TMP/small_dom.html"
check "one-step run: no validation note" grep -q 'no validation logged' "$TMP/small_dom.html"
check "empty sweep is said so" grep -q 'The sweep holds no samples' "$TMP/small_dom.html"
browser "$TMP/small.html" --window-size=1280,900 --hide-scrollbars --screenshot="$ART/report_small.png" >/dev/null
# log with nothing in it yet
mkdir -p "$TMP/empty_run" && : >"$TMP/empty_run/log.jsonl"
check "an empty log still gives a page" $PAL report "$TMP/empty_run" -o "$TMP/e.html"
check "empty log page is well formed" wellformed "$TMP/e.html"
check "empty log: charts say nothing to plot" grep -q 'no training steps logged' "$TMP/e.html"
# a run still writing: the unterminated last line is skipped
cp $F/run1/log.jsonl "$TMP/empty_run/log.jsonl" && printf '{"type":"train","step":2,"lo' >>"$TMP/empty_run/log.jsonl"
check "a half-written last line is skipped" $PAL report "$TMP/empty_run" -o "$TMP/e.html"

# a diverged step logged as nan/inf (printf's spelling, not JSON) is read as missing
printf '{"type":"train","step":1,"loss":3.5}\n{"type":"train","step":2,"loss":nan}\n{"type":"train","step":3,"loss":-inf}\n{"type":"train","step":4,"loss":3.25}\n' >"$TMP/empty_run/log.jsonl"
check "nan and inf losses do not stop the report" $PAL report "$TMP/empty_run" -o "$TMP/nan.html"
check_eq "nan and inf losses are left out of the line" 2 "$(grep -o '<polyline class="series"[^>]*points="[^"]*"' "$TMP/nan.html" | head -1 | grep -o ',' | wc -l)"

# errors: one line naming the file, no file written
check_fails "missing run folder" "nope/log.jsonl" $PAL report "$TMP/nope" -o "$TMP/x.html"
printf '{"type":"train","step":1,"loss":2}\nnot json\n{"type":"train","step":2,"loss":1}\n' >"$TMP/empty_run/log.jsonl"
check_fails "a bad log line is named by file and line" "log.jsonl:2: not a JSON object" $PAL report "$TMP/empty_run" -o "$TMP/x.html"
check_fails "a weave file that is not a weave" "sweep.jsonl:1: not a weave" $PAL report $F/run --weave $F/sweep.jsonl -o "$TMP/x.html"
check_fails "missing sweep" "nosweep.jsonl" $PAL report $F/run --sweep "$TMP/nosweep.jsonl" -o "$TMP/x.html"
check "no half-written report" test ! -e "$TMP/x.html"
check_fails "-o is required" "-o" $PAL report $F/run
check "--out works as -o" $PAL report $F/run --out "$TMP/y.html"
# size and time linear in records (issue 17, defect 8): 2,000 records each its own checkpoint
# and temperature made a 2,000 x 2,000 grid (237 MB); now one row per checkpoint, what it has
gen_sweep() {  # gen_sweep N sparse|dense OUT
  python3 - "$@" <<'PY'
import json, sys
n, mode, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(out, "w") as f:
    for i in range(n):
        step, t = (i, 0.5 + i * 1e-4) if mode == "sparse" else ((i // 10) * 10, 0.5 + (i % 10) * 0.1)
        f.write(json.dumps({"run": "r", "checkpoint": "r/checkpoint-%d" % step, "step": step, "temperature": t,
                            "seed": i, "sample": 0, "prompt": "p", "text": "the sea %d" % i,
                            "distinct_1": 1, "distinct_2": 1, "longest_repeat": 0, "repeat_share": 0,
                            "degenerate": False}) + "\n")
PY
}
gen_sweep 2000 sparse "$TMP/sparse.jsonl"
$PAL report $F/run --sweep "$TMP/sparse.jsonl" -o "$TMP/sparse.html" 2>/dev/null
size=$(stat -c %s "$TMP/sparse.html")
check "a sparse sweep of 2,000 records: a page under 2 MB (got $size bytes)" test "$size" -lt 2000000
check_eq "...one row per checkpoint, one cell each" "2000 2000" "$(grep -o '<tr><th scope="row">' "$TMP/sparse.html" | wc -l) $(grep -o '<td class="cell' "$TMP/sparse.html" | wc -l)"
check "...every sample with its temperature" grep -q '<p class="t">temperature 0.6</p><div class="sample"><div class="text">the sea 1000<' "$TMP/sparse.html"
gen_sweep 200 dense "$TMP/dense.jsonl"
$PAL report $F/run --sweep "$TMP/dense.jsonl" -o "$TMP/dense.html" 2>/dev/null
check_eq "a dense sweep is still the grid: 20 checkpoints x 10 temperatures" "200 0" \
  "$(grep -o '<td class="cell' "$TMP/dense.html" | wc -l) $(grep -c 'missing' "$TMP/dense.html")"
done_tests
