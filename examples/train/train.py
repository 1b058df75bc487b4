"""Train, evaluate and export one robustc example model to ONNX.

Usage: /usr/bin/python3 examples/train/train.py MODEL_NAME [--epochs N]

MODEL_NAME is one of mnist_mlp, mnist_lenet, mnist_cnn_bn, mnist_nin.

Training: mnist:train (see data.py), Adam lr 1e-3 with per-step cosine decay
to 0, batch 64, cross-entropy, random +-2 px translations as augmentation,
torch.manual_seed(0) and a seeded generator for shuffling/augmentation,
torch.set_num_threads(2). Epochs per model: models.EPOCHS.
Writes examples/models/MODEL_NAME.onnx and prints a JSON summary line
(prefixed "SUMMARY ") with accuracies, parameter count and the ONNX op list.
With --ref-logits PATH it also saves the PyTorch logits of the first 100
mnist:test images (for cross-checking the exported file with another runtime).
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import load_split, REPO_ROOT  # noqa: E402
from models import MODELS, EPOCHS  # noqa: E402

BATCH = 64
LR = 1e-3
SEED = 0
OPSET = 13
SHIFT = 2  # max random translation (pixels) used for training-time augmentation


def random_shift(x, gen, s=SHIFT):
    """Data augmentation: translate each image by a random (dx, dy) in
    [-s, s]^2 pixels (zero padding, then a 28x28 crop)."""
    n = x.shape[0]
    xp = nn.functional.pad(x, (s, s, s, s))
    dx = torch.randint(0, 2 * s + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * s + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = xp[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    return out


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return (pred == y).float().mean().item()


def export(model, name, path):
    """Export the eval()-mode model. BatchNorm is kept as a node via
    TrainingMode.PRESERVE (plain EVAL export folds BN into the preceding Conv)."""
    model.eval()
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    training = torch.onnx.TrainingMode.PRESERVE if has_bn else torch.onnx.TrainingMode.EVAL
    dummy = torch.zeros(1, 1, 28, 28)
    # torch 1.13 warns about constant folding for any non-EVAL mode, even though
    # the module is in eval() mode here (so PRESERVE == inference export).
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    torch.onnx.export(
        model, dummy, path,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True, training=training,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    for n in m.graph.node:
        if n.op_type == "BatchNormalization":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            assert len(n.output) == 1, "BN node has %d outputs (training form)" % len(n.output)
            assert attrs.get("training_mode", 0) == 0, "BN node in training mode"
    return ops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--ref-logits", default=None)
    args = ap.parse_args()
    name = args.model
    epochs = args.epochs if args.epochs is not None else EPOCHS[name]

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)

    xtr, ytr = (torch.from_numpy(a) for a in load_split("train"))
    xte, yte = (torch.from_numpy(a) for a in load_split("test"))

    model = MODELS[name]()
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    lossf = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    steps_per_epoch = (len(xtr) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)

    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot = 0.0
        for i in range(0, len(xtr), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = lossf(model(random_shift(xtr[idx], gen)), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        print("%s epoch %d/%d loss %.4f test acc %.4f (%.1fs)" % (
            name, ep + 1, epochs, tot / len(xtr), accuracy(model, xte, yte), time.time() - t0),
            flush=True)
    train_time = time.time() - t0

    model.eval()
    train_acc = accuracy(model, xtr, ytr)
    test_acc = accuracy(model, xte, yte)

    out_dir = os.path.join(REPO_ROOT, "examples", "models")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + ".onnx")
    ops = export(model, name, path)

    if args.ref_logits:
        with torch.no_grad():
            logits = model(xte[:100]).numpy()
        with open(args.ref_logits, "w") as f:
            json.dump({"logits": logits.tolist(), "labels": yte[:100].tolist()}, f)

    summary = {
        "model": name, "epochs": epochs, "params": nparams,
        "train_acc": train_acc, "n_train": len(xtr),
        "test_acc": test_acc, "n_test": len(xte),
        "train_seconds": round(train_time, 1),
        "onnx_bytes": os.path.getsize(path), "ops": ops,
    }
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
