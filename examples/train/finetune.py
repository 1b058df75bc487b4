"""Adversarial fine-tuning of a robustc example model (Bastani et al. 2016, section 5).

Usage: /usr/bin/python3 examples/train/finetune.py MODEL_NAME --onnx IN.onnx --algorithm lp|bracket|lbfgsb
           --rounds T --out-dir DIR [--train-points N] [--jobs K] [--margin A] [--epochs E] [--lr LR]
           [--queue redis://HOST:PORT/NAME]

Round t = 1..T: `robustc augment` computes adversarial examples of the CURRENT model (the input model for
t = 1, round t-1's output after) for the first N ORIGINAL points of mnist:train only (with the paper's
confidence margin, rounded to integer pixels, re-checked by onnxruntime); they are added to the
examples of earlier rounds (accumulated), and the current model continues training on all 8,004 training
digits plus every accumulated example at a reduced learning rate (Adam, lr 1e-4 = a tenth of train.py's).
Only N of the 8,004 points are attacked (the attacks cost seconds per point), so each example is repeated
--repeat times (default round(8004 / N)): the examples then weigh in the training set about as much as
they would had every training point been attacked, as in the paper.
Writes DIR/aug<t>/ (robustc augment's output), DIR/round<t>.onnx (same input/output names and layout as
the originals, exported by train.py's export), DIR/round<t>.json (its summary) and DIR/finetune.json (one
summary per round). Restartable: a rerun reuses each finished round (round<t>.onnx with round<t>.json) without
training it again, and a killed augment continues from the points it finished (robustc augment --resume).

The PyTorch twin is models.MODELS[MODEL_NAME], its weights read from the ONNX initializers (their names
are the state_dict keys: torch.onnx.export keeps them). Needs node and a built robustc (make build).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import load_split, REPO_ROOT  # noqa: E402
from models import MODELS  # noqa: E402
from train import BATCH, SEED, accuracy, export, random_shift  # noqa: E402

ROBUSTC = os.path.join(REPO_ROOT, "bin", "robustc.js")


def load_onnx_weights(model, path):
    """Copies the ONNX initializers into the PyTorch twin; every parameter and buffer must be found."""
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    state = model.state_dict()
    missing = [k for k in state if k not in inits and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit("%s: initializers missing for %s (is it an export of %s?)" % (path, missing, type(model).__name__))
    for k in state:
        if k in inits:
            if tuple(inits[k].shape) != tuple(state[k].shape):
                raise SystemExit("%s: %s has shape %s, the model wants %s" % (path, k, inits[k].shape, tuple(state[k].shape)))
            state[k] = torch.from_numpy(inits[k].copy())
    model.load_state_dict(state)
    return model


def augment(onnx_path, algorithm, train_points, jobs, margin, out, queue=None):
    """robustc augment; with `queue` (redis://HOST:PORT/NAME) its points go to robustc worker processes, and the
    run is cleared from the queue once its files are written (a queue name holds one run: the next round's)."""
    cmd = ["node", ROBUSTC, "augment", onnx_path, "--data", "mnist:train", "--limit", str(train_points),
           "--jobs", str(jobs), "--algorithm", algorithm, "--out", out]
    if margin is not None:
        cmd += ["--margin", str(margin)]
    if queue:
        cmd += ["--queue", queue]
    else:
        cmd += ["--resume"]  # a killed run left its finished points in OUT.partial: keep them
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    if queue:
        subprocess.run(["node", ROBUSTC, "queue", "clear", queue], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)


def load_examples(dirs):
    """The accumulated examples: x float32 [M,1,28,28] = pixel / 255 (as the loader does), y = original labels."""
    xs, ys = [np.zeros((0, 1, 28, 28), np.float32)], [np.zeros((0,), np.int64)]
    for d in dirs:
        px = np.load(os.path.join(d, "images.npy"))
        xs.append((px.astype(np.float64) / 255.0).astype(np.float32).reshape(-1, 1, 28, 28))
        ys.append(np.load(os.path.join(d, "labels.npy")).astype(np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def train_round(model, xtr, ytr, xadv, yadv, epochs, lr, seed):
    """Continues training on the training set plus the examples; the originals get train.py's random
    shifts, the adversarial examples none (a shift would undo what makes them adversarial)."""
    x = torch.from_numpy(np.concatenate([xtr, xadv]))
    y = torch.from_numpy(np.concatenate([ytr, yadv]))
    is_orig = torch.arange(len(x)) < len(xtr)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lossf = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        tot = 0.0
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            xb = x[idx].clone()
            o = is_orig[idx]
            if o.any():
                xb[o] = random_shift(xb[o], gen)
            opt.zero_grad()
            loss = lossf(model(xb), y[idx])
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
        print("  epoch %d/%d loss %.4f" % (ep + 1, epochs, tot / len(x)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--onnx", required=True, help="the model to start from (an export of MODEL)")
    ap.add_argument("--algorithm", choices=["lp", "bracket", "lbfgsb"], required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--train-points", type=int, default=300, help="original training points attacked per round")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--margin", type=float, default=None, help="default: robustc's (3.0 lp, 0.15 lbfgsb)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per round")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--train-subset", type=int, default=0, help="fine-tune on the first K training digits only (0: all; smoke runs)")
    ap.add_argument("--repeat", type=int, default=None, help="copies of each example (default round(8004 / N))")
    ap.add_argument("--queue", default=None, help="redis://HOST:PORT/NAME: augment's points to robustc worker processes there")
    args = ap.parse_args()

    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(SEED)
    os.makedirs(args.out_dir, exist_ok=True)
    xtr, ytr = load_split("train")
    if args.train_subset > 0:
        xtr, ytr = xtr[:args.train_subset], ytr[:args.train_subset]
    repeat = args.repeat if args.repeat is not None else max(1, round(len(xtr) / args.train_points))
    xte, yte = (torch.from_numpy(a) for a in load_split("test"))
    model = load_onnx_weights(MODELS[args.model](), args.onnx)
    start_acc = accuracy(model, xte, yte)
    print("%s from %s: test acc %.4f" % (args.model, args.onnx, start_acc), flush=True)

    current, dirs, summary = args.onnx, [], []
    for t in range(1, args.rounds + 1):
        t0 = time.time()
        aug_dir = os.path.join(args.out_dir, "aug%d" % t)
        path = os.path.join(args.out_dir, "round%d.onnx" % t)
        row_path = os.path.join(args.out_dir, "round%d.json" % t)
        if os.path.exists(path) and os.path.exists(row_path):
            # A finished round (a rerun after a kill): its net and row as written, not trained again, so that the
            # next round attacks the same net (a killed augment resumes on it).
            model = load_onnx_weights(MODELS[args.model](), path)
            with open(row_path) as f:
                row = json.load(f)
            print("round %d: reusing %s" % (t, path), flush=True)
            dirs.append(aug_dir)
            summary.append(row)
            current = path
            continue
        if os.path.exists(os.path.join(aug_dir, "manifest.json")):
            with open(os.path.join(aug_dir, "manifest.json")) as f:
                man = json.load(f)
            print("round %d: reusing %s" % (t, aug_dir), flush=True)
        else:
            man = augment(current, args.algorithm, args.train_points, args.jobs, args.margin, aug_dir, args.queue)
        aug_seconds = time.time() - t0
        dirs.append(aug_dir)
        xadv, yadv = load_examples(dirs)
        print("round %d: %d new examples, %d accumulated (each repeated %d times); fine-tuning %d epochs at lr %g" % (
            t, man["kept"], len(yadv), repeat, args.epochs, args.lr), flush=True)
        t1 = time.time()
        train_round(model, xtr, ytr, np.repeat(xadv, repeat, axis=0), np.repeat(yadv, repeat, axis=0), args.epochs, args.lr, SEED + t)
        export(model, args.model, path)
        model.eval()
        with torch.no_grad():
            adv_acc = (model(torch.from_numpy(xadv)).argmax(1) == torch.from_numpy(yadv)).float().mean().item() if len(yadv) else None
        row = {
            "round": t, "model": path, "from": current, "algorithm": args.algorithm, "new_examples": man["kept"],
            "found": man["found"], "lost_to_rounding": man["lost_to_rounding"], "points_tried": man["points_tried"],
            "accumulated": int(len(yadv)), "repeat": repeat, "test_acc": accuracy(model, xte, yte), "adv_examples_acc": adv_acc,
            "augment_seconds": round(aug_seconds, 1), "train_seconds": round(time.time() - t1, 1),
        }
        summary.append(row)
        print("SUMMARY " + json.dumps(row), flush=True)
        with open(row_path + ".tmp", "w") as f:
            json.dump(row, f, indent=2)
            f.write("\n")
        os.replace(row_path + ".tmp", row_path)
        current = path
    with open(os.path.join(args.out_dir, "finetune.json"), "w") as f:
        json.dump({"model": args.model, "start": args.onnx, "start_test_acc": start_acc, "epochs": args.epochs,
                   "lr": args.lr, "train_points": args.train_points, "rounds": summary}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
