#!/bin/bash
# VNN-COMP through `robustc vnncomp`, resumable: one result row is appended per finished instance and
# finished instances are skipped (--resume), so the hours a full run takes can be spent in parts. Default:
# mnistfc_2021 at the full VNN-COMP timeouts (SCALE=1; 120 s for 256x2, 300 s for 256x4/256x6), the three
# networks in two streams (this machine has 2 cores). BENCH folders other than mnistfc: SETS="a b ...".
# Prints the README's table per network (bench/vnncomp-table.ts): which instances each figure covers.
set -u
SCALE=${SCALE:-1}
B=${BENCH:-../shared/benchmarks/vnncomp}
OUT=${OUT:-out/vnncomp}
SETS=${SETS:-mnistfc_2021}
mkdir -p "$OUT"
run() { node bin/robustc.js vnncomp "$B/$1/instances.csv" --filter "$2" --timeout-scale "$SCALE" --resume --out "$OUT/$1.$3.csv" >> "$OUT/$1.$3.log" 2>&1; }
for d in $SETS; do
  if [ "$d" = mnistfc_2021 ]; then
    ( run "$d" 256x2 a; run "$d" 256x6 c ) &
    run "$d" 256x4 b &
    wait
  else
    run "$d" . all
  fi
done
npx tsx bench/vnncomp-table.ts "$B" "$OUT" $SETS
