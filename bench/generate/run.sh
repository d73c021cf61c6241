#!/usr/bin/env bash
# bench/generate/run.sh: batch-1 generation of GPT-2 124M (random init in a temporary folder):
# 256 new tokens after a 64-token prompt, greedy, KV cache; palimpsest against PyTorch on
# the CPU with its own KV cache (bench/generate/torch_kv.py); each side at its best thread
# count of 1..nproc (on a contended machine fewer threads can win), the
# machine's read bandwidth and the token rate it allows (fp32 124M reads ~498 MB a token),
# and weave over 4 checkpoints (--context shared) against sample's time per token.
# Timings are noisy on a shared machine: run it once or twice and quote medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
NEW=${NEW:-256}
make -s -j2 build/palimpsest >/dev/null
mkdir -p build/bench
cc -O3 -march=native -mprefer-vector-width=512 -fopenmp -o build/bench/bandwidth bench/generate/bandwidth.c
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for s in 1 2 3 4; do
  build/palimpsest init --config 124M --out "$W/run/checkpoint-$((s * 100))" --seed $s >/dev/null
done
M=$W/run/checkpoint-100
PROMPT=$($PY -c "print(','.join(str((i * 7919 + 13) % 50000) for i in range(64)))")
rate() { sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p' "$1"; }

# read bandwidth over a buffer the size of the model (what decoding streams: on machines
# with very large caches part of it stays cached) and over 2 GB (main memory), best thread count
bytes=$(stat -c %s "$M/model.safetensors")
model_mb=$((bytes / 1048576))
bw=0 bw_dram=0
for th in $(seq 1 "$(nproc)"); do
  b=$(OMP_NUM_THREADS=$th build/bench/bandwidth "$model_mb" 5 | sed -n 's/.*"read_gb_per_s":\([0-9.]*\).*/\1/p')
  d=$(OMP_NUM_THREADS=$th build/bench/bandwidth 2048 3 | sed -n 's/.*"read_gb_per_s":\([0-9.]*\).*/\1/p')
  echo "  read bandwidth $th thread(s): $b GB/s over $model_mb MB, $d GB/s over 2048 MB"
  if awk "BEGIN{exit !($b > $bw)}"; then bw=$b; fi
  if awk "BEGIN{exit !($d > $bw_dram)}"; then bw_dram=$d; fi
done
limit=$(awk "BEGIN{printf \"%.1f\", $bw * 1e9 / $bytes}")

# palimpsest (after one untimed warm-up that pages the mapping in)
build/palimpsest sample --model "$M" --prompt-ids "$PROMPT" --length 8 --temperature 0 --ignore-eot --format ids --quiet >/dev/null
pal=0 threads=1 pal_ids=""
for th in $(seq 1 "$(nproc)"); do
  ids=$(build/palimpsest sample --model "$M" --prompt-ids "$PROMPT" --length "$NEW" --threads "$th" \
        --temperature 0 --ignore-eot --format ids 2>"$W/pal.err")
  p=$(rate "$W/pal.err")
  echo "  palimpsest $th thread(s): $p tokens/s"
  if awk "BEGIN{exit !($p > $pal)}"; then pal=$p; threads=$th; pal_ids=$ids; fi
done

best=0 best_t=0 torch_ids=""
for th in $(seq 1 "$(nproc)"); do
  tj=$(OMP_NUM_THREADS=$th "$PY" bench/generate/torch_kv.py "$M" --prompt-ids "$PROMPT" --new "$NEW" --threads "$th")
  tt=$(sed -n 's/.*"tokens_per_s": \([0-9.]*\).*/\1/p' <<<"$tj")
  echo "  pytorch $th thread(s): $tt tokens/s"
  if awk "BEGIN{exit !($tt > $best)}"; then best=$tt; best_t=$th; torch_ids=$(sed -n 's/.*"ids": \[\([^]]*\)\].*/\1/p' <<<"$tj" | tr -d ' '); fi
done
same=$($PY -c "
import sys
a, b = sys.argv[1].split(','), sys.argv[2].split(',')
n = 0
while n < min(len(a), len(b)) and a[n] == b[n]: n += 1
print(n)" "$pal_ids" "$torch_ids")

build/palimpsest weave --run "$W/run" --schedule cycle --context shared --prompt-ids "$PROMPT" --length 8 --temperature 0 --ignore-eot --format ids --quiet >/dev/null
weave=0
for rep in 1 2; do   # sample and weave side by side, best of two each (the machine is noisy)
  build/palimpsest weave --run "$W/run" --schedule cycle --context shared --prompt-ids "$PROMPT" --threads "$threads" \
    --length "$NEW" --temperature 0 --ignore-eot --format ids 2>"$W/weave.err" >/dev/null
  wv=$(rate "$W/weave.err")
  if awk "BEGIN{exit !($wv > $weave)}"; then weave=$wv; fi
  build/palimpsest sample --model "$M" --prompt-ids "$PROMPT" --length "$NEW" --threads "$threads" \
    --temperature 0 --ignore-eot --format ids 2>"$W/pal.err" >/dev/null
  p=$(rate "$W/pal.err")
  if awk "BEGIN{exit !($p > $pal)}"; then pal=$p; fi
done

echo "generate: GPT-2 124M, batch 1, $NEW new tokens after 64, greedy, KV cache ($threads threads)"
printf '  %-34s %8s tokens/s\n' "palimpsest sample (best: $threads)" "$pal" "pytorch (best: $best_t threads)" "$best"
printf '  %-34s %8.2fx\n' "ratio palimpsest / pytorch" "$(awk "BEGIN{print $pal / $best}")"
printf '  %-34s %8s GB/s -> limit %s tokens/s (%.0f MB a token)\n' "read bandwidth (model-sized)" "$bw" "$limit" "$(awk "BEGIN{print $bytes / 1e6}")"
printf '  %-34s %8s GB/s -> limit %s tokens/s\n' "read bandwidth (2 GB, main memory)" "$bw_dram" "$(awk "BEGIN{printf \"%.1f\", $bw_dram * 1e9 / $bytes}")"
printf '  %-34s %8.0f%%\n' "palimpsest share of the limit" "$(awk "BEGIN{print 100 * $pal / $limit}")"
printf '  %-34s %8s tokens/s (%.2fx sample time per token)\n' "weave 4 checkpoints, shared" "$weave" "$(awk "BEGIN{print $pal / $weave}")"
printf '  %-34s %8s of %s\n' "greedy ids equal to pytorch's" "$same" "$NEW"
