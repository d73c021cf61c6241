#!/usr/bin/env bash
# tests/run.sh BUILD_DIR...: runs every unit test binary and every tests/cli/*.sh against
# each build directory, counts "ok"/"not ok" lines, and closes with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0; failed_tests=()
log=$(mktemp); trap 'rm -f "$log"' EXIT
for build in "$@"; do
  sanitized=0; [ "$build" != "build" ] && sanitized=1
  tests=()
  for t in "$build"/tests/test_*; do [ -x "$t" ] && tests+=("$t"); done
  for t in tests/cli/*.sh; do [ -f "$t" ] && tests+=("$t"); done
  for t in "${tests[@]}"; do
    start=$(date +%s%N)
    if [[ $t == *.sh ]]; then
      PAL="$build/palimpsest" PAL_BUILD="$build" PAL_SANITIZED=$sanitized \
        ASAN_OPTIONS=detect_leaks=1 timeout 600 bash "$t" >"$log" 2>&1; rc=$?
    else
      PAL_SANITIZED=$sanitized ASAN_OPTIONS=detect_leaks=1 timeout 600 "$t" >"$log" 2>&1; rc=$?
    fi
    p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^not ok - ' "$log")
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $t exited $rc" >>"$log"; fi
    pass=$((pass + p)); fail=$((fail + f))
    el=$(( ($(date +%s%N) - start) / 100000000 ))
    printf '%-44s %4d ok %3d failed  %4d.%ds\n' "[$build] $(basename "$t")" "$p" "$f" $((el / 10)) $((el % 10))
    if [ "$f" -gt 0 ]; then failed_tests+=("$build/$(basename "$t")"); grep -v '^ok - ' "$log" | head -40 | sed 's/^/    /'; fi
  done
done
[ ${#failed_tests[@]} -gt 0 ] && echo "failed: ${failed_tests[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
