#!/usr/bin/env bash
# bench/generate/precision.sh: batch-1 generation of GPT-2 124M (random init in a temporary
# folder) from F32, BF16 and int8 weights (palimpsest quantize), greedy with a KV cache:
# tokens/s of each, the ratio to F32, and each one's share of its own read-bandwidth limit
# (the machine's read bandwidth, measured in this run over a buffer of that model's size,
# divided by the bytes its file holds: each token reads every weight once); then the mean
# loss of each on held-out text (palimpsest score). Runs interleaved, best of REPS each.
# Prints the CPU, OpenBLAS's core, generation's kernel path, threads and the load average.
set -euo pipefail
cd "$(dirname "$0")/../.."
NEW=${NEW:-128}
REPS=${REPS:-2}
TH=${THREADS:-$(nproc)}
make -s -j2 build/palimpsest build/libpalimpsest.a >/dev/null
mkdir -p build/bench
cc -O3 -march=native -mprefer-vector-width=512 -fopenmp -o build/bench/bandwidth bench/generate/bandwidth.c
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cat > "$W/machine.c" <<'C'
#include <stdio.h>
#include "generate/kernels.h"
char *openblas_get_corename(void);
int main(void) { printf("%s %s\n", openblas_get_corename(), pal_gen_kernel_path()); return 0; }
C
cc -O2 -Iinclude -Isrc -fopenmp -o "$W/machine" "$W/machine.c" build/libpalimpsest.a -lopenblas -lm
read -r core kpath < <("$W/machine")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)

build/palimpsest init --config 124M --out "$W/f32" --seed 1 >/dev/null
build/palimpsest quantize --model "$W/f32" --to bf16 --out "$W/bf16" >/dev/null
build/palimpsest quantize --model "$W/f32" --to int8 --out "$W/int8" >/dev/null
PROMPT=$(python3 -c "print(','.join(str((i * 7919 + 13) % 50000) for i in range(32)))")
rate() { sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p' "$1"; }
declare -A best bw bytes loss
for p in f32 bf16 int8; do
  best[$p]=0
  bytes[$p]=$(stat -c %s "$W/$p/model.safetensors")
  build/palimpsest sample --model "$W/$p" --prompt-ids "$PROMPT" --length 4 --temperature 0 --ignore-eot \
    --format ids --quiet --threads "$TH" >/dev/null   # pages the mapping in
done
for rep in $(seq 1 "$REPS"); do
  for p in f32 bf16 int8; do
    mb=$(( bytes[$p] / 1048576 ))
    b=$(OMP_NUM_THREADS=$TH build/bench/bandwidth "$mb" 3 | sed -n 's/.*"read_gb_per_s":\([0-9.]*\).*/\1/p')
    if [ -z "${bw[$p]:-}" ] || awk "BEGIN{exit !($b > ${bw[$p]})}"; then bw[$p]=$b; fi
    build/palimpsest sample --model "$W/$p" --prompt-ids "$PROMPT" --length "$NEW" --threads "$TH" \
      --temperature 0 --ignore-eot --format ids 2>"$W/$p.err" >"$W/$p.ids"
    r=$(rate "$W/$p.err")
    if awk "BEGIN{exit !($r > ${best[$p]})}"; then best[$p]=$r; fi
  done
done
# held-out text: the repository's own docs (the model never saw them), about 600 tokens
head -c 2400 docs/PARTS/engine.md > "$W/heldout.txt"
for p in f32 bf16 int8; do
  loss[$p]=$(build/palimpsest score --model "$W/$p" --threads "$TH" --json "$W/heldout.txt" | sed -n 's/.*"loss":\([0-9.]*\).*/\1/p')
done
same() { python3 -c "
import sys
a, b = open(sys.argv[1]).read().strip().split(','), open(sys.argv[2]).read().strip().split(',')
n = 0
while n < min(len(a), len(b)) and a[n] == b[n]: n += 1
print(n)" "$1" "$2"; }

echo "generate by precision: GPT-2 124M (random init), batch 1, $NEW new tokens after 32, greedy, KV cache"
echo "  machine: $cpu, $(nproc) cores, OpenBLAS core $core, kernels $kpath, $TH threads, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-6s %10s %9s %8s %12s %10s %8s %10s %9s\n' dtype "MB/token" "tokens/s" "x f32" "read GB/s" "limit t/s" "% limit" "loss" "d loss"
for p in f32 bf16 int8; do
  mbt=$(awk "BEGIN{printf \"%.0f\", ${bytes[$p]} / 1e6}")
  lim=$(awk "BEGIN{printf \"%.1f\", ${bw[$p]} * 1e9 / ${bytes[$p]}}")
  printf '  %-6s %10s %9s %7.2fx %12s %10s %7.0f%% %10s %8.3f%%\n' "$p" "$mbt" "${best[$p]}" \
    "$(awk "BEGIN{print ${best[$p]} / ${best[f32]}}")" "${bw[$p]}" "$lim" "$(awk "BEGIN{print 100 * ${best[$p]} / $lim}")" \
    "${loss[$p]}" "$(awk "BEGIN{d = ${loss[$p]} - ${loss[f32]}; if (d < 0) d = -d; print 100 * d / ${loss[f32]}}")"
done
echo "  greedy ids equal to f32's: bf16 $(same "$W/f32.ids" "$W/bf16.ids") of $NEW, int8 $(same "$W/f32.ids" "$W/int8.ids") of $NEW"
echo "  targets: bf16 >= 1.8x and int8 >= 3x f32, each >= 80% of its limit; loss within 0.1% (bf16), 1% (int8)"
