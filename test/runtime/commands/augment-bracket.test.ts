// augment --algorithm bracket (the paper's §5 with the bracket as "our algorithm"): the bracket's example, then the
// paper's LP with the confidence margin in its region (or in the regions forward from it). Every example has the
// margin in onnxruntime's float32 pass, lies no closer than the bracket's upper bound, and survives as augment
// checks it (rounded to integer pixels, re-run, still misclassified, the original label kept).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unwrap } from "../../../compiler/index.js";
import { decodeNpy } from "../../../runtime/data/npy.js";
import { argmax } from "../../../runtime/evaluator/types.js";
import { DEFAULT_LAZY } from "../../../runtime/lazy/lazy-loop.js";
import { marginExample } from "../../../runtime/rho/margin-example.js";
import { modeForSeed } from "../../../runtime/rho/modes.js";
import { openSeed } from "../../../runtime/point/seed.js";
import { linf } from "../../../runtime/point/check.js";
import { localContext } from "../../../runtime/run/point-runner.js";
import { modelInput, openEvaluator, openSession } from "../../../runtime/run/session.js";
import { robustcOk } from "../../helpers/cli.js";

const MODEL = "examples/models/mnist_mlp.onnx";

describe("augment --algorithm bracket (issue 16: our algorithm's examples)", function () {
  this.timeout(240_000);

  it("marginExample: the margin holds in float32, and the example is no closer than the bracket's upper bound", async () => {
    const { session, ctx } = await localContext({
      modelPath: MODEL,
      data: "mnist:train",
      pixelScale: 255,
      lazy: { ...DEFAULT_LAZY, timeLimit: 20 },
      algorithm: "lp",
      eps: 20,
    });
    let found = 0;
    try {
      for (const i of [0, 1, 2, 3]) {
        const x = modelInput(session, i);
        const s = await openSeed(ctx, i, x, session.dataset.labels![i]);
        if (!("seed" in s)) continue;
        const p = await modeForSeed(ctx, "bracket", s.seed, 20);
        const m = await marginExample(ctx, p, s.seed, 3, 20);
        if (m.status !== "adversarial") {
          assert.equal(m.example, undefined);
          continue;
        }
        found++;
        const [y] = await ctx.evaluator.logits([Float64Array.from(m.example!)]);
        const others = Array.from(y).filter((_, k) => k !== m.target);
        assert.equal(argmax(y), m.target, `point ${i}`);
        assert.ok(
          y[m.target!] - Math.max(...others) >= 3 - 1e-4,
          `point ${i}: float32 margin ${y[m.target!] - Math.max(...others)} < 3`,
        );
        assert.ok(Math.abs(linf(m.example!, x) * 255 - m.rho!) < 1e-9);
        assert.ok(m.rho! >= p.upper! - 1e-9, `point ${i}: margin example at ${m.rho} closer than upper ${p.upper}`);
      }
    } finally {
      await ctx.evaluator.dispose();
    }
    assert.ok(found >= 2, `margin examples on ${found} of 4 mnist_mlp digits`);
  });

  it("the CLI keeps only rounded examples onnxruntime still misclassifies, with their original labels", async () => {
    const dir = mkdtempSync(join(tmpdir(), "robustc-augb-"));
    try {
      await robustcOk([
        "augment",
        MODEL,
        "--data",
        "mnist:train",
        "--limit",
        "4",
        "--algorithm",
        "bracket",
        "--time-limit",
        "20",
        "--out",
        join(dir, "a"),
      ]);
      const manifest = JSON.parse(readFileSync(join(dir, "a", "manifest.json"), "utf8"));
      assert.equal(manifest.algorithm, "bracket");
      assert.equal(manifest.margin, 3);
      assert.equal(manifest.found, manifest.kept + manifest.lost_to_rounding);
      assert.ok(manifest.kept >= 1, JSON.stringify(manifest));
      const images = unwrap(decodeNpy(readFileSync(join(dir, "a", "images.npy")), "images.npy"));
      const labels = unwrap(decodeNpy(readFileSync(join(dir, "a", "labels.npy")), "labels.npy"));
      const s = unwrap(openSession(MODEL, { data: "mnist:train", pixelScale: 255 }));
      const ort = await openEvaluator(s);
      const n = 784;
      for (let k = 0; k < manifest.kept; k++) {
        const x = Float64Array.from(images.data.subarray(k * n, (k + 1) * n), (v) => Math.fround(v / 255));
        const [y] = await ort.logits([x]);
        assert.notEqual(argmax(y), labels.data[k], `kept example ${k} is classified as its original label`);
      }
      await ort.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
