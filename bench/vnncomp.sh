#!/bin/bash
# Every instance of every VNN-COMP benchmark folder through `robustc vnncomp`, timeouts x SCALE (default
# 0.04), in two streams; results.csv and the log per folder in $OUT (default out/vnncomp; the README's table).
set -u
SCALE=${SCALE:-0.04}
B=${BENCH:-../shared/benchmarks/vnncomp}
OUT=${OUT:-out/vnncomp}
mkdir -p "$OUT"
stream() { for d in "$@"; do node bin/robustc.js vnncomp "$B/$d/instances.csv" --timeout-scale "$SCALE" --out "$OUT/$d.csv" > "$OUT/$d.log" 2>&1; done; }
stream test_2021 oval21_2021 oval21_2022 verivital_2021 &
stream mnistfc_2021 mnist_fc_2022 eran_2021 &
wait
grep -h "instances:\|ground truth:\|CONTRADICTION" "$OUT"/*.log
