#!/usr/bin/env bash
# The paper's Table 1 and Figure 3 (Bastani et al. 2016, sections 5-6): adversarial fine-tuning of the paper's
# own LeNet (mnist_lenet_caffe, Caffe's net and recipe) and of mnist_lenet (a ReLU after every convolution), with
# examples from L-BFGS-B (the paper's baseline) and from our algorithm (the bracket's example, then the paper's LP
# with the margin alpha = 3 in its region and the regions forward from it; integer rounding), T = 1, 2; every net
# measured by the bracket (phi in [phi_lower, phi_upper], and the paper's LP's phi_hat from the same run) and by
# L-BFGS-B, frequencies with 95% Wilson intervals (bench/table1.ts).
#
# Usage: bash examples/table1.sh            (make table1; make table1-quick for a smoke run)
# Environment: BASES (default "mnist_lenet_caffe mnist_lenet"), TRAIN_POINTS (training digits attacked per round,
# default 1000), TEST_POINTS (mnist:test digits measured, default 500), JOBS (worker threads, default 2), EPOCHS
# (per round, 1), TRAIN_SUBSET (fine-tune on the first K training digits only; 0 = all 8,004), NIN_TRAIN_POINTS
# (default 100), OUT (default out/table1), PYTHON (default /usr/bin/python3), PARALLEL=1 (the chains side by
# side, each with JOBS workers), QUEUE=redis://HOST:PORT/NAME (hand every attack and measurement to `robustc
# worker` processes on that queue, on this and other machines: see below). Writes OUT/table1.md, OUT/table1.json,
# OUT/fig3a.svg (by L-BFGS-B), fig3b.svg (by the paper's LP with the bracket's band), fig3c.svg (mnist_nin, the
# stand-in for the paper's NiN on CIFAR-10).
# Restartable: finished chains and rounds are reused, a killed augment and a killed measurement resume (--resume).
# examples/table1-parts.sh saves the finished parts compactly (to commit) and restores them into OUT on a fresh clone.
#
# With QUEUE, each augment (in finetune.py) and each measure enqueues its points there and waits for the workers
# (start them before or after: robustc worker --queue "$QUEUE", any number, on any machine that sees this
# checkout's model files at the same absolute paths); the files are the same as without. A queue name holds one
# run, so the steps run one after the other (no PARALLEL=1), and each step's run is cleared from the queue
# (robustc queue clear) once its files are written. Interrupted, rerun it: a step's finished points stay on the
# queue. (Killed between a step's files and its clear, the next step is refused as "holds another run": run
# robustc queue clear "$QUEUE" and rerun.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BASES="${BASES:-mnist_lenet_caffe mnist_lenet}"
TRAIN_POINTS="${TRAIN_POINTS:-1000}"
TEST_POINTS="${TEST_POINTS:-500}"
JOBS="${JOBS:-2}"
EPOCHS="${EPOCHS:-1}"
TRAIN_SUBSET="${TRAIN_SUBSET:-0}"
NIN_TRAIN_POINTS="${NIN_TRAIN_POINTS:-100}"
OUT="${OUT:-out/table1}"
PYTHON="${PYTHON:-/usr/bin/python3}"
QUEUE="${QUEUE:-}"
ROBUSTC=(node bin/robustc.js)
if [ -n "$QUEUE" ] && [ "${PARALLEL:-0}" = 1 ]; then
  echo "table1: QUEUE runs the steps one after the other (a queue name holds one run): drop PARALLEL=1" >&2
  exit 2
fi
# What spreads a measurement: JOBS threads here, or the workers of QUEUE.
spread=(--jobs "$JOBS")
if [ -n "$QUEUE" ]; then spread=(--queue "$QUEUE"); fi
NIN=examples/models/mnist_nin.onnx
start=$(date +%s)
stamp() { echo "[table1 $(( $(date +%s) - start ))s] $*"; }
mkdir -p "$OUT"
cat > "$OUT/settings.json" <<EOF
{"bases": "$BASES", "train_points": $TRAIN_POINTS, "test_points": $TEST_POINTS, "jobs": $JOBS, "epochs": $EPOCHS, "train_subset": $TRAIN_SUBSET, "nin_train_points": $NIN_TRAIN_POINTS}
EOF

finetune() { # NAME ONNX ALGORITHM ROUNDS DIR POINTS
  if [ -f "$5/round$4.onnx" ] && [ -f "$5/finetune.json" ]; then stamp "reusing $5"; return; fi
  stamp "fine-tuning $1 with $3 examples, $4 round(s), $6 training points -> $5"
  local queue=()
  if [ -n "$QUEUE" ]; then queue=(--queue "$QUEUE"); fi
  "$PYTHON" examples/train/finetune.py "$1" --onnx "$2" --algorithm "$3" --rounds "$4" --out-dir "$5" \
    --train-points "$6" --jobs "$JOBS" --epochs "$EPOCHS" --train-subset "$TRAIN_SUBSET" "${queue[@]}"
}

measure() { # ONNX HOW DIR   (HOW: bracket = --algorithm lp, the default mode; lbfgsb)
  local resume=() alg=lp
  if [ "$2" = lbfgsb ]; then alg=lbfgsb; fi
  if [ -f "$3/report.json" ]; then stamp "reusing $3"; return; fi
  if [ -f "$3/run.json" ]; then resume=(--resume); fi
  stamp "measuring $1 by $2 on $TEST_POINTS test points -> $3"
  "${ROBUSTC[@]}" measure "$1" --data mnist:test --limit "$TEST_POINTS" --eps 20 "${spread[@]}" \
    --algorithm "$alg" --out "$3" "${resume[@]}" | grep -E "phi|frequency|severity|total seconds"
  # The run's files are written: the queue is free for the next step.
  if [ -n "$QUEUE" ]; then "${ROBUSTC[@]}" queue clear "$QUEUE" >/dev/null; fi
}

original() { for base in $BASES; do for how in bracket lbfgsb; do measure "examples/models/$base.onnx" "$how" "$OUT/measure/$base-original-$how"; done; done; }
chain() { # BASE ALGORITHM: fine-tune T = 1, 2, then measure both nets both ways
  finetune "$1" "examples/models/$1.onnx" "$2" 2 "$OUT/$1-$2" "$TRAIN_POINTS"
  for t in 1 2; do
    for how in bracket lbfgsb; do measure "$OUT/$1-$2/round$t.onnx" "$how" "$OUT/measure/$1-$2-t$t-$how"; done
  done
}
nin_chain() {
  finetune mnist_nin "$NIN" bracket 1 "$OUT/mnist_nin-bracket" "$NIN_TRAIN_POINTS"
  measure "$NIN" bracket "$OUT/measure/mnist_nin-original-bracket"
  measure "$OUT/mnist_nin-bracket/round1.onnx" bracket "$OUT/measure/mnist_nin-bracket-t1-bracket"
}

if [ "${PARALLEL:-0}" = 1 ]; then
  # The independent parts side by side (each with JOBS workers): faster on a busy machine, more threads.
  pids=()
  original & pids+=($!)
  for base in $BASES; do for alg in lbfgsb bracket; do chain "$base" "$alg" & pids+=($!); done; done
  nin_chain & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done
else
  original
  for base in $BASES; do for alg in lbfgsb bracket; do chain "$base" "$alg"; done; done
  nin_chain
fi

stamp "writing the table and figures"
npx tsx bench/table1.ts "$OUT"
stamp "done"
