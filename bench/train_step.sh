#!/usr/bin/env bash
# bench/train_step.sh [STEPS]: GPT-2 124M (random init) training step, palimpsest vs PyTorch on
# the CPU in one run: B=4 T=64 and B=4 T=256 (forward, backward, clip, AdamW), then scoring
# (forward only) at B=1 T=1024. Each side runs at 1 and 2 threads and its best counts (on a
# shared machine one thread can win); the sgemm peak is measured inside palimpsest's run.
# Prints tokens/s, the ratio, sgemm's peak on GPT-2's shapes and palimpsest's share of it,
# and each side's peak memory (max RSS). Timings are noisy on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-3}
make -s -j2 bench-bin >/dev/null
PY=${PYTHON:-/usr/bin/python3}
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1"; }
printf '%-22s %12s %12s %7s %10s %10s %12s\n' "shape" "pal tok/s" "torch tok/s" "ratio" "pal MB" "torch MB" "pal GFLOP/s"
run_shape() {  # B T mode
  local B=$1 T=$2 mode=$3 flag="" peakflag=""
  [ "$mode" = score ] && flag="--score"
  [ "$mode" = train ] && peakflag="--sgemm-peak"
  local pal="" pt=0 pbest="" best="" bt=0 bm=0
  for th in 1 2; do
    local pj tj tt
    pj=$(OMP_NUM_THREADS=$th build/bench/train_step --B "$B" --T "$T" --steps "$steps" $flag $peakflag)
    tt=$(field "$pj" tokens_per_s)
    if awk "BEGIN{exit !($tt > $pt)}"; then pt=$tt; pal=$pj; pbest=$th; fi
    tj=$(OMP_NUM_THREADS=$th "$PY" bench/train_step_torch.py --B "$B" --T "$T" --steps "$steps" --threads "$th" $flag)
    tt=$(field "$tj" tokens_per_s)
    if awk "BEGIN{exit !($tt > $bt)}"; then bt=$tt; bm=$(field "$tj" max_rss_mb); best=$th; fi
  done
  local pm pg pk
  pm=$(field "$pal" max_rss_mb); pg=$(field "$pal" gflops); pk=$(field "$pal" sgemm_peak_gflops)
  printf '%-22s %12s %12s %6.2fx %10s %10s %12s\n' "$mode B=$B T=$T" "$pt (${pbest}t)" "$bt (${best}t)" \
    "$(awk "BEGIN{print $pt / $bt}")" "$pm" "$bm" "$pg"
  if [ "$mode" = train ]; then
    echo "    sgemm peak on GPT-2 shapes (N=$((B * T))): $pk GFLOP/s; palimpsest step at $(awk "BEGIN{printf \"%.0f\", 100 * $pg / $pk}")% of it"
    echo "    palimpsest: $pal"
  fi
}
run_shape 4 64 train
run_shape 4 256 train
run_shape 1 1024 score
