#!/usr/bin/env bash
# tests/golden/machine.sh: one line naming what decides float rounding here (CPU model and
# features, compiler). test_golden.sh compares bitwise when it equals tests/golden/machine.txt
# (the machine that wrote expected/), and within tolerance elsewhere.
flags=$(grep -m1 '^flags' /proc/cpuinfo | cksum | cut -d' ' -f1)
model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
fam=$(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
mod=$(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
echo "$model family $fam model $mod flags $flags; $(${CC:-cc} --version | head -1)"
