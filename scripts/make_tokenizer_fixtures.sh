#!/usr/bin/env bash
# Regenerates tests/fixtures/tokenizer/ from tiktoken (npm, installed into cache/node):
# vectors.jsonl (a few hundred strings with tiktoken's gpt2 ids, js-tiktoken cross-checked)
# unicode_planes.json (an id hash per Unicode plane of every code point in context),
# and kjv.json (token count and id hash of the KJV text from Debian's bible-kjv; the text
# itself is never committed). Needs node + npm (network once) and the `bible` command.
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/tokenizer
mkdir -p cache/node "$out"
if [ ! -d cache/node/node_modules/tiktoken ] || [ ! -d cache/node/node_modules/js-tiktoken ]; then
  ( cd cache/node && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --silent --no-audit --no-fund tiktoken@1.0.22 js-tiktoken@1.0.21 )
fi
# ES modules resolve packages beside the script: run a copy inside cache/node
cp tests/ref/tiktoken_vectors.mjs cache/node/tiktoken_vectors.mjs
node cache/node/tiktoken_vectors.mjs vectors "$out/vectors.jsonl"
node cache/node/tiktoken_vectors.mjs unicode > "$out/unicode_planes.json"
if command -v bible >/dev/null 2>&1; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  bible -l80 "Gen1:1-Rev22:21" > "$tmp/kjv.txt"
  whole=$(node cache/node/tiktoken_vectors.mjs file "$tmp/kjv.txt")
  prefix=$(node cache/node/tiktoken_vectors.mjs file "$tmp/kjv.txt" 200000)
  printf '{"command":"bible -l80 Gen1:1-Rev22:21","whole":%s,"prefix":%s}\n' "$whole" "$prefix" > "$out/kjv.json"
  cat "$out/kjv.json"
else
  echo "make_tokenizer_fixtures: no 'bible' command (apt-get install bible-kjv): kjv.json not rebuilt" >&2
fi
