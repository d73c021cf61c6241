# tests/lib.sh: helpers for command-line tests (sourced). Prints "ok - ..." / "not ok - ..."
# lines that tests/run.sh counts; PAL is the program under test, TMP a fresh folder.
set -u
PAL=${PAL:-build/palimpsest}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
_fails=0
ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; _fails=$((_fails + 1)); }
# check DESC CMD...: passes when CMD succeeds
check()  { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi; }
# check_fails DESC PATTERN CMD...: passes when CMD exits non-zero and stderr matches PATTERN
check_fails() {
  local d=$1 pat=$2; shift 2
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 0 ] && printf '%s' "$out" | grep -qE -- "$pat"; then ok "$d"
  else not_ok "$d (rc=$rc, stderr: $(printf '%s' "$out" | head -c 300))"; fi
}
# check_eq DESC EXPECTED ACTUAL
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi; }
# tiny_model TEXT...: a 300-token BPE trained on TEXT into $TMP/tok and a 1-layer model of
# it in $TMP/m (seed 1): the smallest model the train and run-folder tests share.
tiny_model() {
  $PAL tokenizer train --vocab-size 300 "$@" --out $TMP/tok >/dev/null 2>&1
  $PAL init --config n_layer=1,n_head=2,n_embd=16,n_ctx=32,vocab_size=300 --tokenizer $TMP/tok --out $TMP/m --seed 1 >/dev/null 2>&1
}
done_tests() { exit $(( _fails > 0 ? 1 : 0 )); }
