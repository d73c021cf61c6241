#!/usr/bin/env bash
# bench/run_all.sh: every benchmark in turn (make bench). Each prints palimpsest's figure and
# its peer's from the same run, and the ratio. Not a test: timings depend on the machine.
set -uo pipefail
cd "$(dirname "$0")/.."
for b in "bench/tokenize" "bash bench/mix.sh" "bench/train_step" "bench/finetune" "bash bench/generate/run.sh"; do
  echo "=== $b"
  $b || echo "(benchmark $b failed: rc=$?)"
done
