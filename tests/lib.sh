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
done_tests() { exit $(( _fails > 0 ? 1 : 0 )); }
