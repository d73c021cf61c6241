#!/usr/bin/env bash
# bench/mix.sh [MB]: mixes MB (default 100) of synthetic sources (bench/mix_gen.py) with the
# original recipe's settings, then the same method in plain Python (bench/mix_peer.py), and
# prints MB/s for both (wall clock, and CPU time for palimpsest), the ratio, and palimpsest's
# peak memory. Not a test.
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
# the notebook's order: slurry lines, sports pieces, novel sentences, poem lines
run_pal() {
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" $PAL mix --until longest --force --quiet -o "$out/mixture.txt" \
    --unit line "$out/slurry.txt" \
    --unit period --min-chars 6 --max-chars 79 --strip punct,digits "$out/reportage.txt" \
    --reset --unit sentence "$out/prose.txt" --unit line "$out/poems.txt"
  cat "$out/time.txt"
}
a=$(run_pal); b=$(run_pal)  # twice: the second reads from the page cache, as the peer will
best=$(printf '%s\n%s\n' "$a" "$b" | sort -n | head -1)
t0=$(date +%s.%N); $PY bench/mix_peer.py "$out" "$out/peer.txt"; t1=$(date +%s.%N)
echo "sources: $bytes bytes (4 files); palimpsest wrote $(wc -l < "$out/mixture.txt") units, python $(wc -l < "$out/peer.txt")"
echo "$best $t0 $t1" | awk -v b="$bytes" '{ wall = $1; cpu = $2 + $3; rss = $4; peer = $6 - $5
  printf "palimpsest mix : %6.2f s wall %7.1f MB/s, %5.2f s CPU %7.1f MB/s (one thread; peak RSS %.1f MB; provenance written, output fsynced)\n", wall, b / 1e6 / wall, cpu, b / 1e6 / cpu, rss / 1024
  printf "python peer    : %6.2f s wall %7.1f MB/s (whole files in memory, no provenance)\n", peer, b / 1e6 / peer
  printf "ratio (wall)   : %.1fx\n", peer / wall }'
