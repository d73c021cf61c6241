#!/usr/bin/env bash
# demo.sh: the main job on the built-in default (grows as the issues land).
set -euo pipefail
cd "$(dirname "$0")/.."
PAL=build/palimpsest
echo "== palimpsest $($PAL --version)"
$PAL --help
