# test_golden.sh: the whole pipeline (mix -> tokenizer -> init -> train with a curriculum and a
# resume -> score -> sweep -> weave -> sample -> format) on a tiny model, compared file by file
# with tests/golden/expected/ (see tests/golden/compare.py for what "equal" means). A refactor
# that changes no behaviour leaves every line ok; `make golden` rewrites the expected files.
source tests/lib.sh
if PAL="$PAL" bash tests/golden/pipeline.sh "$TMP/out" >"$TMP/log" 2>&1; then
  ok "golden: the pipeline ran"
  strict=0   # bitwise on the machine that wrote expected/, with the optimised build
  [ "${PAL_SANITIZED:-0}" = 0 ] && [ "$(bash tests/golden/machine.sh)" = "$(cat tests/golden/machine.txt)" ] && strict=1
  [ $strict = 1 ] && ok "golden: same machine as expected/: floats compared bitwise" || ok "golden: floats within 1e-5 (another machine or build)"
  PAL_GOLDEN_STRICT=${PAL_GOLDEN_STRICT:-$strict} python3 tests/golden/compare.py tests/golden/expected "$TMP/out" || _fails=$((_fails + 1))
else
  not_ok "golden: the pipeline failed: $(tail -3 "$TMP/log")"
fi
done_tests
