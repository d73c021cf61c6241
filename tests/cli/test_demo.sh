# test_demo.sh: `make demo`'s script end to end on the QUICK path with a tiny step count:
# every step runs, and the outputs exist (mixture, run with checkpoints, sweep, weave, the
# formatted weave, a report with charts, grid cells and coloured tokens).
source tests/lib.sh
missing=""
for c in corpus mix tokenizer init train sweep weave format report; do
  $PAL "$c" --help >/dev/null 2>&1 || missing="$missing $c"
done
if [ -n "$missing" ]; then
  echo "# skip: the demo needs commands not built yet:$missing"
  done_tests
fi
D=$TMP/demo
bytes=200000
[ "${PAL_SANITIZED:-0}" = 1 ] && bytes=60000
# DEMO_BUDGET=1: the budget is spent before training, so the demo measures this machine's step
# time and trains the fewest steps it allows (2 x DEMO_SAVES = 4): the same on every machine.
# the default corpora when they are already fetched (no network then); else our own texts
if [ -s data/corpora/MANIFEST.tsv ]; then
  echo "# demo on the default corpora (data/corpora)"
  extra=()
else
  echo "# data/corpora not fetched: demo on tests/fixtures/present/recipe.ini"
  extra=(DEMO_FETCH=0 DEMO_RECIPE=tests/fixtures/present/recipe.ini DEMO_VOCAB=300)
fi
env PAL="$PAL" QUICK=1 DEMO_BUDGET=1 DEMO_SAVES=2 DEMO_MIX_BYTES=$bytes DEMO_OUT="$D" "${extra[@]}" \
  timeout 500 bash scripts/demo.sh >"$TMP/demo.log" 2>&1
rc=$?
check_eq "demo.sh QUICK=1 runs to the end" 0 "$rc"
[ $rc -ne 0 ] && tail -20 "$TMP/demo.log" | sed 's/^/    /'
check "it prints its four steps" bash -c "grep -c '^== [1-4]\. ' '$TMP/demo.log' | grep -qx 4"
check "it measures the step time and fits the steps to the budget" \
  grep -qE '^   \(measured [0-9.]+ s a step here: -?[0-9]+ s left for training -> 4 steps\)' "$TMP/demo.log"
check "a run of the 4 steps the budget left" bash -c "[ \$(grep -c '\"type\":\"train\"' '$D/run/log.jsonl') = 4 ]"
check "it prints the time at each stage" bash -c "[ \$(grep -cE '^   \([0-9]+s; [0-9]+s since the start, budget 1s\)' '$TMP/demo.log') = 4 ]"
check "it says where the report went" grep -q -- "-> $D/report.html" "$TMP/demo.log"
check "mixture written" test -s "$D/mixture.txt"
check "a run with a log" test -s "$D/run/log.jsonl"
check "at least two checkpoints" bash -c "[ \$(ls -d '$D'/run/checkpoint-* | wc -l) -ge 2 ]"
check "sweep written" test -s "$D/sweep.jsonl"
check "weave written" test -s "$D/weave.jsonl"
check "weave formatted" test -s "$D/weave.txt"
check "weave page" grep -q '<figcaption>weave' "$D/weave.html"
check "report has the loss charts" bash -c "[ \$(grep -o '<polyline class=\"series\"' '$D/report.html' | wc -l) -ge 1 ]"
check "report has sweep cells (checkpoints x 3 temperatures)" bash -c "[ \$(grep -o '<td class=\"cell' '$D/report.html' | wc -l) -ge 6 ]"
check "report has coloured weave tokens" grep -q '<span class="tok" style="background:hsl' "$D/report.html"
done_tests
