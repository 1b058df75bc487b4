"""Train the paper's LeNet by Caffe's own recipe and export it as examples/models/mnist_lenet_caffe.onnx.

Usage: /usr/bin/python3 examples/train/train_caffe_lenet.py [--iterations 10000] [--out PATH]

Caffe's examples/mnist (the net Bastani et al. 2016 measure), reproduced in PyTorch:
- net (lenet_train_test.prototxt): conv 20@5x5 -> max-pool 2 -> conv 50@5x5 -> max-pool 2 -> ip 500 -> ReLU
  -> ip 10 (models.MnistLeNetCaffe); weights "xavier" (Caffe's: uniform(-a, a), a = sqrt(3 / fan_in)), biases 0;
  inputs scaled by 0.00390625 = 1/256; no augmentation.
- solver (lenet_solver.prototxt): SGD, base_lr 0.01, momentum 0.9, weight_decay 5e-4 (on weights and biases:
  decay_mult is 1 by default), bias lr_mult 2, lr_policy "inv" (lr = base_lr * (1 + gamma * iter)^-power,
  gamma 1e-4, power 0.75), batch 64, max_iter 10,000. Caffe's update, written out (it differs from
  torch.optim.SGD when the rate changes): v = momentum * v + lr * lr_mult * (grad + decay * w); w -= v.
- data: the bundled mnist:train split (data.py: 8,004 digits, Caffe had 60,000), reshuffled every epoch with a
  fixed seed; the loss is SoftmaxWithLoss (mean cross-entropy).
Export: robustc's models take pixel / 255, Caffe's took pixel / 256; the exported conv1 weights are multiplied
by 255/256, so the ONNX model of pixel / 255 computes exactly the trained net of pixel / 256. The script checks
the export against the PyTorch net on the test digits and prints a SUMMARY line (accuracies, seconds).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import REPO_ROOT, load_split_pixels  # noqa: E402
from models import MnistLeNetCaffe  # noqa: E402
from train import export  # noqa: E402

BASE_LR, MOMENTUM, DECAY, GAMMA, POWER, BATCH = 0.01, 0.9, 5e-4, 1e-4, 0.75, 64
SEED = 0


def xavier_(model, gen):
    """Caffe's xavier filler (variance_norm FAN_IN) on every weight; biases 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            a = math.sqrt(3.0 / fan_in)
            with torch.no_grad():
                m.weight.copy_((torch.rand(m.weight.shape, generator=gen) * 2 - 1) * a)
                m.bias.zero_()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return (pred == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=10000)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "examples", "models", "mnist_lenet_caffe.onnx"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    ptr, ytr = load_split_pixels("train")
    pte, yte = load_split_pixels("test")
    # Caffe's input: pixel * 0.00390625.
    xtr = torch.from_numpy(ptr.astype(np.float32).reshape(-1, 1, 28, 28) / 256.0)
    xte = torch.from_numpy(pte.astype(np.float32).reshape(-1, 1, 28, 28) / 256.0)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

    model = MnistLeNetCaffe()
    xavier_(model, gen)
    params = [(p, 2.0 if name.endswith("bias") else 1.0) for name, p in model.named_parameters()]
    history = [torch.zeros_like(p) for p, _ in params]
    lossf = nn.CrossEntropyLoss()

    t0 = time.time()
    perm, pos = torch.randperm(len(xtr), generator=gen), 0
    model.train()
    for it in range(args.iterations):
        if pos + BATCH > len(xtr):
            perm, pos = torch.randperm(len(xtr), generator=gen), 0
        idx = perm[pos:pos + BATCH]
        pos += BATCH
        model.zero_grad()
        loss = lossf(model(xtr[idx]), ytr[idx])
        loss.backward()
        lr = BASE_LR * (1 + GAMMA * it) ** (-POWER)
        with torch.no_grad():
            for (p, mult), v in zip(params, history):
                v.mul_(MOMENTUM).add_(lr * mult * (p.grad + DECAY * p))
                p.sub_(v)
        if (it + 1) % 1000 == 0:
            print("iteration %d loss %.4f lr %.6f test acc %.4f (%.1fs)" % (
                it + 1, loss.item(), lr, accuracy(model, xte, yte), time.time() - t0), flush=True)
            model.train()
    seconds = time.time() - t0
    train_acc, test_acc = accuracy(model, xtr, ytr), accuracy(model, xte, yte)

    # The export takes pixel / 255: fold 255/256 into conv1 (conv is linear in its input; the bias is unchanged).
    with torch.no_grad():
        model.conv1.weight.mul_(255.0 / 256.0)
    xte255 = torch.from_numpy((pte.astype(np.float64) / 255.0).astype(np.float32).reshape(-1, 1, 28, 28))
    folded_acc = accuracy(model, xte255, yte)
    ops = export(model, "mnist_lenet_caffe", args.out)
    agree = None
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
        y = sess.run(["logits"], {"input": xte255.numpy()})[0]
        with torch.no_grad():
            ref = model(xte255).numpy()
        agree = float(np.abs(y - ref).max())
    except ImportError:
        pass
    print("SUMMARY " + json.dumps({
        "model": "mnist_lenet_caffe", "iterations": args.iterations, "train_acc": train_acc, "test_acc": test_acc,
        "test_acc_exported_input": folded_acc, "n_train": len(xtr), "n_test": len(xte), "train_seconds": round(seconds, 1),
        "onnx_bytes": os.path.getsize(args.out), "ops": ops, "max_abs_logit_diff_onnxruntime": agree,
    }), flush=True)


if __name__ == "__main__":
    main()
