#!/usr/bin/env bash
# test_structure.sh: the shape ARCHITECTURE.md promises: modules include only those below
# them (scripts/check_includes.py), no function in src/ over 120 lines
# (scripts/check_functions.py), and a thin command line: src/cli at most 1,750 lines in all (1,600 before `overlap` and `runs`),
# no file there over 250.
. tests/lib.sh
out=$(python3 scripts/check_includes.py src include/palimpsest 2>&1) && ok "includes run downwards only" || not_ok "includes: $out"
out=$(python3 scripts/check_functions.py src 2>&1) && ok "no function in src/ over 120 lines" || not_ok "functions: $out"
total=$(cat src/cli/*.c src/cli/*.h | wc -l)
[ "$total" -le 1750 ] && ok "src/cli holds $total lines (at most 1,750)" || not_ok "src/cli holds $total lines, more than 1,750"
big=$(wc -l src/cli/*.c src/cli/*.h | awk '$2 != "total" && $1 > 250 {print $2 " (" $1 ")"}')
[ -z "$big" ] && ok "no file in src/cli over 250 lines" || not_ok "files in src/cli over 250 lines: $big"
done_tests
