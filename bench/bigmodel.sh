#!/usr/bin/env bash
# bench/bigmodel.sh [BUILD] [STEPS]: the larger GPT-2s on one machine (issue 13). For 774M at
# B=1 T=512 and 1558M at B=1 T=256 (weights from `palimpsest init --config`, which load as the
# published ones do) it runs STEPS (default 2) training steps of each setting under
# /usr/bin/time -v and prints the plan (`train --plan`), the measured max RSS, the target and
# the tokens/s of the last step beside the setting's baseline, with the ratio. Needs about
# 10 GB of disk (models and final checkpoints, removed at the end) and runs one setting at a
# time. Not a test: figures depend on the machine; the load average is printed with them.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
STEPS=${2:-2}   # at least 2: the last step's time is the difference of two log lines
PAL=$BUILD/palimpsest
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pal_bigmodel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
cat README.md docs/*.md docs/PARTS/*.md > "$WORK/text.txt"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $OMP_NUM_THREADS threads," \
     "BLAS $(ldd "$PAL" | grep -o 'lib[a-z]*blas[^ ]*' | head -1)$(command -v openblas_get_config >/dev/null && echo), MemTotal $(awk '/MemTotal/ {printf "%.1f GB", $2*1024/1e9}' /proc/meminfo)"
printf '%-34s %9s %9s %9s %8s %9s %9s %6s\n' "setting" "plan GB" "RSS GB" "RSS GiB" "target" "tok/s" "baseline" "ratio"

# case: NAME CONFIG B T TARGET_GB BASELINE_NAME FLAGS...
declare -A TOKS
run_case() {
  local name=$1 config=$2 B=$3 T=$4 target=$5 base=$6; shift 6
  local model=$WORK/model-$config run=$WORK/run-$name
  if [ ! -d "$model" ]; then
    "$PAL" init --config "$config" --out "$model" --seed 1 >/dev/null 2>"$WORK/init.err" || { echo "init $config failed: $(cat "$WORK/init.err")"; return; }
  fi
  local args=(--model "$model" --data "$WORK/text.txt" --out "$run" --batch "$B" --seq "$T" --steps "$STEPS"
              --save-every 0 --val-fraction 0 --warmup 0 --quiet "$@")
  local plan
  plan=$("$PAL" train "${args[@]}" --plan | awk '/total/ {print $2}')
  local load_before
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -v "$PAL" train "${args[@]}" 2>"$WORK/time.txt" >/dev/null
  local rc=$?
  local rss_kb
  rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
  local toks
  # tokens/s of the last step from the log's elapsed_s (its tokens_per_s has one decimal)
  toks=$(grep '"type":"train"' "$run/log.jsonl" 2>/dev/null | tail -2 | sed 's/.*"elapsed_s":\([0-9.]*\).*/\1/' |
         awk -v n=$((B * T)) 'NR == 1 {a = $1} NR == 2 {b = $1} END {if (NR == 2 && b > a) printf "%.3f", n / (b - a)}')
  TOKS[$name]=${toks:-0}
  local ratio="-" btoks="-"
  if [ "$base" != "-" ] && [ -n "${TOKS[$base]:-}" ]; then
    btoks=${TOKS[$base]}
    ratio=$(awk -v a="$btoks" -v b="${toks:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
  fi
  [ $rc -ne 0 ] && { echo "$name: train exited $rc: $(grep -v '^\s' "$WORK/time.txt" | head -2)"; }
  printf '%-34s %9s %9.2f %9.2f %8s %9s %9s %6s   (load %s -> %s)\n' "$name" "$plan" "$(awk -v k="$rss_kb" 'BEGIN{print k*1024/1e9}')" \
    "$(awk -v k="$rss_kb" 'BEGIN{print k/1048576}')" "$target" "${toks:-?}" "$btoks" "$ratio" "$load_before" "$(cut -d' ' -f1 /proc/loadavg)"
  rm -rf "$run"
}

run_case "774M adamw (baseline)"            774M 1 512 "-"    "-"                     --optimizer adamw
run_case "774M adafactor"                   774M 1 512 "<=12"  "774M adamw (baseline)" --optimizer adafactor
run_case "774M adafactor --recompute"       774M 1 512 "<=12"  "774M adafactor"        --optimizer adafactor --recompute
rm -rf "$WORK/model-774M"
run_case "1558M adafactor (baseline)"       1558M 1 256 "-"    "-"                     --optimizer adafactor
run_case "1558M adafactor --recompute"      1558M 1 256 "<=22" "1558M adafactor (baseline)" --optimizer adafactor --recompute
echo "ratio = baseline tokens/s / this setting's (the step-time cost); tokens/s of step $STEPS; GB = 1e9 bytes"
