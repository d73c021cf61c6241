#!/usr/bin/env bash
# make_hub_fixture.sh BUILD: regenerates tests/fixtures/hub/gpt2 (what hub_server.py serves
# in tests/cli/test_download.sh): a 1-layer 4-wide GPT-2 from `palimpsest init` and a
# 16-token tokenizer of our own. Deterministic (fixed seed); about 3 KB.
set -euo pipefail
cd "$(dirname "$0")/../.."
PAL=${1:-build}/palimpsest
tok=$(mktemp -d); trap 'rm -rf "$tok"' EXIT
printf '{"a": 0, "b": 1, "c": 2, "d": 3, "e": 4, "\\u0120": 5, "ab": 6, "cd": 7, "abcd": 8, "\\u0120a": 9, "ee": 10, "de": 11, "ba": 12, "dc": 13, "eee": 14, "<|endoftext|>": 15}\n' >"$tok/vocab.json"
printf '#version: 0.2\na b\nc d\nab cd\n\xc4\xa0 a\ne e\nd e\nb a\nd c\nee e\n' >"$tok/merges.txt"
rm -rf tests/fixtures/hub/gpt2
$PAL init --config n_layer=1,n_head=1,n_embd=4,n_ctx=8 --tokenizer "$tok" --seed 5 --out tests/fixtures/hub/gpt2
