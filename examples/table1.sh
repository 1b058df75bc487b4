#!/usr/bin/env bash
# The paper's Table 1 and Figure 3 (Bastani et al. 2016, sections 5-6) on mnist_lenet: adversarial
# fine-tuning with L-BFGS-B and with LP examples (T = 1, 2), each net measured by both algorithms.
#
# Usage: bash examples/table1.sh            (make table1; make table1-quick for a smoke run)
# Environment: TRAIN_POINTS (original training points attacked per round, default 150), TEST_POINTS
# (mnist:test points measured, default 20), JOBS (worker threads, default 2), EPOCHS (per round, 1),
# TRAIN_SUBSET (fine-tune on the first K training digits only; 0 = all 8,004), NIN_TRAIN_POINTS (default
# 100), OUT (default out/table1), PYTHON (default /usr/bin/python3), PARALLEL=1 (the chains and the
# original's measurements side by side, each with JOBS workers, instead of one after another).
# Writes OUT/table1.md, OUT/fig3a.svg (measured by L-BFGS-B), fig3b.svg (by the LP), fig3c.svg (mnist_nin
# by the LP, original vs LP-fine-tuned T = 1: our stand-in for the paper's NiN on CIFAR-10), OUT/table1.json.
# Restartable: finished augment directories are reused and measurements resume (--resume).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TRAIN_POINTS="${TRAIN_POINTS:-150}"
TEST_POINTS="${TEST_POINTS:-20}"
JOBS="${JOBS:-2}"
EPOCHS="${EPOCHS:-1}"
TRAIN_SUBSET="${TRAIN_SUBSET:-0}"
NIN_TRAIN_POINTS="${NIN_TRAIN_POINTS:-100}"
OUT="${OUT:-out/table1}"
PYTHON="${PYTHON:-/usr/bin/python3}"
ROBUSTC=(node bin/robustc.js)
LENET=examples/models/mnist_lenet.onnx
NIN=examples/models/mnist_nin.onnx
start=$(date +%s)
stamp() { echo "[table1 $(( $(date +%s) - start ))s] $*"; }
mkdir -p "$OUT"
cat > "$OUT/settings.json" <<EOF
{"train_points": $TRAIN_POINTS, "test_points": $TEST_POINTS, "jobs": $JOBS, "epochs": $EPOCHS, "train_subset": $TRAIN_SUBSET, "nin_train_points": $NIN_TRAIN_POINTS}
EOF

finetune() { # NAME ONNX ALGORITHM ROUNDS DIR POINTS
  if [ -f "$5/round$4.onnx" ] && [ -f "$5/finetune.json" ]; then stamp "reusing $5"; return; fi
  stamp "fine-tuning $1 with $3 examples, $4 round(s), $6 training points -> $5"
  "$PYTHON" examples/train/finetune.py "$1" --onnx "$2" --algorithm "$3" --rounds "$4" --out-dir "$5" \
    --train-points "$6" --jobs "$JOBS" --epochs "$EPOCHS" --train-subset "$TRAIN_SUBSET"
}

measure() { # ONNX ALGORITHM DIR
  local resume=()
  if [ -f "$3/report.json" ]; then stamp "reusing $3"; return; fi
  if [ -f "$3/run.json" ]; then resume=(--resume); fi
  stamp "measuring $1 with $2 on $TEST_POINTS test points -> $3"
  "${ROBUSTC[@]}" measure "$1" --data mnist:test --limit "$TEST_POINTS" --eps 20 --jobs "$JOBS" \
    --algorithm "$2" --out "$3" "${resume[@]}" | grep -E "frequency|severity|total seconds"
}

original() { for alg in lp lbfgsb; do measure "$LENET" "$alg" "$OUT/measure/lenet-original-$alg"; done; }
lenet_chain() { # ALGORITHM: fine-tune T = 1, 2, then measure both nets with both algorithms
  finetune mnist_lenet "$LENET" "$1" 2 "$OUT/lenet-$1" "$TRAIN_POINTS"
  for t in 1 2; do
    for alg in lp lbfgsb; do measure "$OUT/lenet-$1/round$t.onnx" "$alg" "$OUT/measure/lenet-$1-t$t-$alg"; done
  done
}
nin_chain() {
  finetune mnist_nin "$NIN" lp 1 "$OUT/nin-lp" "$NIN_TRAIN_POINTS"
  measure "$NIN" lp "$OUT/measure/nin-original-lp"
  measure "$OUT/nin-lp/round1.onnx" lp "$OUT/measure/nin-lp-t1-lp"
}

if [ "${PARALLEL:-0}" = 1 ]; then
  # The four independent parts side by side (each with JOBS workers): faster on a busy machine, more threads.
  pids=()
  original & pids+=($!)
  lenet_chain lbfgsb & pids+=($!)
  lenet_chain lp & pids+=($!)
  nin_chain & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done
else
  original
  lenet_chain lbfgsb
  lenet_chain lp
  nin_chain
fi

stamp "writing the table and figures"
npx tsx bench/table1.ts "$OUT"
stamp "done"
