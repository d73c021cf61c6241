#!/usr/bin/env bash
# bench/run_all.sh: every benchmark in turn (make bench). Each prints palimpsest's figure and
# its peer's from the same run, and the ratio. Not a test: timings depend on the machine.
set -uo pipefail
cd "$(dirname "$0")/.."
# The peers: PyTorch from Debian (the test suite never needs it), tiktoken from npm (the
# tokenizer benchmark installs that itself into cache/node).
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench: installing Debian's python3-torch (the PyTorch peer)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends python3-torch python3-numpy
fi
# The machine, once: CPU, BLAS with its core, palimpsest's kernel path, load.
build/palimpsest --version
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "bench/tokenize" "bash bench/mix.sh" "bench/train_step" "bench/finetune" "bash bench/generate/run.sh"; do
  echo "=== $b"
  $b || echo "(benchmark $b failed: rc=$?)"
done
