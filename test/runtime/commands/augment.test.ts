// robustc augment on a few mnist_mlp training digits: the files are written, every kept example is still
// adversarial after rounding (re-run here through onnxruntime), labels are the original ones, and the
// manifest's counts add up (found = kept + lost); bad input gives one line, exit 2 and nothing on disk.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeNpy } from "../../../runtime/data/npy.js";
import { OnnxRuntimeEvaluator } from "../../../runtime/evaluator/onnxruntime.js";
import { argmax } from "../../../runtime/evaluator/types.js";
import { openSession } from "../../../runtime/run/session.js";
import { pixelsToInput, roundPixels } from "../../../runtime/augment.js";
import { robustc, robustcOk } from "../../helpers/cli.js";

const MODEL = "examples/models/mnist_mlp.onnx";
describe("runtime/augment: rounding helpers", () => {
  it("rounds model units to integer pixels in [0, 255] and back to float32 inputs", () => {
    assert.deepEqual(
      Array.from(roundPixels([0, 0.5 / 255, 1.49 / 255, 1.2, -0.1, 254.5 / 255], 255)),
      [0, 1, 1, 255, 0, 255],
    );
    assert.deepEqual(Array.from(pixelsToInput([0, 255, 1], 255)), [0, 1, Math.fround(1 / 255)]);
  });
});

describe("runtime/augment: robustc augment on mnist_mlp", function () {
  this.timeout(60_000);
  let dir: string;
  const session = openSession(MODEL, { data: "mnist:train", pixelScale: 255 });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-augment-"));
    // margin 1 (logits): the LP finds examples for most MLP digits; margin 0: on the boundary, rounding loses some.
    await robustcOk([
      "augment",
      MODEL,
      "--data",
      "mnist:train",
      "--limit",
      "8",
      "--margin",
      "1",
      "--out",
      join(dir, "m1"),
    ]);
    await robustcOk([
      "augment",
      MODEL,
      "--data",
      "mnist:train",
      "--limit",
      "8",
      "--margin",
      "0",
      "--jobs",
      "2",
      "--out",
      join(dir, "m0"),
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const npy = (sub: string, f: string) => {
    const r = decodeNpy(readFileSync(join(dir, sub, f)), f);
    assert.ok(r.ok);
    return r.value;
  };

  for (const sub of ["m1", "m0"]) {
    it(`${sub}: files, still adversarial after rounding (onnxruntime), original labels, counts add up`, async () => {
      assert.deepEqual(readdirSync(join(dir, sub)).sort(), [
        "images.npy",
        "index.npy",
        "labels.npy",
        "manifest.json",
        "points.jsonl",
      ]);
      assert.equal(existsSync(join(dir, `${sub}.partial`)), false);
      const man = JSON.parse(readFileSync(join(dir, sub, "manifest.json"), "utf8"));
      const images = npy(sub, "images.npy"),
        labels = npy(sub, "labels.npy"),
        index = npy(sub, "index.npy");
      assert.equal(images.dtype, "uint8");
      assert.deepEqual(images.shape, [man.kept, 1, 28, 28]);
      assert.deepEqual(labels.shape, [man.kept]);
      assert.equal(man.points_tried, 8);
      assert.equal(man.algorithm, "lp");
      assert.equal(man.found, man.kept + man.lost_to_rounding);
      const lines = readFileSync(join(dir, sub, "points.jsonl"), "utf8")
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, man.found);
      assert.equal(lines.filter((l) => l.kept).length, man.kept);
      assert.ok(session.ok);
      const ds = session.value.dataset;
      for (let k = 0; k < man.kept; k++)
        assert.equal(labels.data[k], ds.labels![index.data[k]], `label of example ${k}`);
      const ort = await OnnxRuntimeEvaluator.create(MODEL, session.value.network, { threads: 1 });
      try {
        const xs = Array.from({ length: man.kept }, (_, k) =>
          pixelsToInput(images.data.subarray(k * 784, (k + 1) * 784), 255),
        );
        const ys = await ort.logits(xs);
        ys.forEach((y, k) =>
          assert.notEqual(argmax(y), labels.data[k], `example ${k} (point ${index.data[k]}) is no longer adversarial`),
        );
      } finally {
        await ort.dispose();
      }
    });
  }

  it("margin 1 finds examples for most points and keeps them; margin 0 sits on the boundary", () => {
    const m1 = JSON.parse(readFileSync(join(dir, "m1", "manifest.json"), "utf8"));
    const m0 = JSON.parse(readFileSync(join(dir, "m0", "manifest.json"), "utf8"));
    assert.equal(m1.margin, 1);
    assert.ok(m1.kept >= 4, `margin 1 kept ${m1.kept} of 8`);
    assert.equal(m0.margin, 0);
    assert.ok(m0.found >= 4, `margin 0 found ${m0.found} of 8`);
  });

  it("bad input: one line, exit 2, nothing written", async () => {
    const cases: string[][] = [
      ["--margin", "-1", "--out", join(dir, "neg")],
      ["--algorithm", "fgsm", "--out", join(dir, "fgsm")],
      ["--limit", "0", "--out", join(dir, "limit0")],
      ["--pixel-scale", "1", "--out", join(dir, "scale")],
    ];
    for (const extra of cases) {
      const r = await robustc(["augment", MODEL, "--data", "mnist:train", ...extra]);
      assert.equal(r.code, 2, extra.join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      const out = extra[extra.length - 1];
      assert.equal(existsSync(out), false, out);
      assert.equal(existsSync(`${out}.partial`), false);
    }
    mkdirSync(join(dir, "full"));
    writeFileSync(join(dir, "full", "keep.txt"), "x");
    const r = await robustc(["augment", MODEL, "--data", "mnist:train", "--limit", "1", "--out", join(dir, "full")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not empty/);
    assert.deepEqual(readdirSync(join(dir, "full")), ["keep.txt"]);
    const missing = await robustc(["augment", "nope.onnx", "--data", "mnist:train", "--out", join(dir, "nope")]);
    assert.equal(missing.code, 2);
    assert.equal(existsSync(join(dir, "nope")), false);
  });
});
