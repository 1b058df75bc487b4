// The engine's bounds on the example models (issue 23): on mnist_mlp the margins y_l* − y_l over boxes of radius
// 2/255 and 8/255 around test digits — the onnxruntime backend (the float64 bounds graph) agrees with the reference
// (tightBounds + backsub, as the bracket's lower bound runs it) within 1e-5·(1 + |reference|), and so do the
// ReLU pre-activation bounds; the graph loads in onnxruntime with its declared inputs and outputs; a
// network the graph does not cover (mnist_lenet: conv) gets the reference's bounds and says why; slopes of the
// wrong length are refused.

import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { BOUNDS_IO, boundsGraph, reluLayers } from "../../../compiler/engine/index.js";
import { trace } from "../../../compiler/analysis/trace.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { openEngine } from "../../../runtime/engine/index.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";

const TOL = 1e-5;

function load(name: string) {
  const s = openSession(`examples/models/${name}.onnx`, { data: "mnist:test", pixelScale: 255 });
  assert.ok(s.ok);
  return s.value;
}

describe("runtime/engine: bounds on the example models", function () {
  this.timeout(120_000);

  for (const eps of [2 / 255, 8 / 255])
    it(`mnist_mlp: the margins' bounds over boxes of radius ${(eps * 255).toFixed(0)}/255 agree with the reference`, async () => {
      const s = load("mnist_mlp");
      const net = s.network,
        m = networkMatrices(net);
      const B = 4,
        n = 784,
        K = 10,
        R = K - 1;
      const lower = new Float64Array(B * n),
        upper = new Float64Array(B * n),
        rows = new Float64Array(B * R * K);
      for (let b = 0; b < B; b++) {
        const x = Float64Array.from(modelInput(s, b));
        for (let j = 0; j < n; j++) {
          lower[b * n + j] = Math.max(0, x[j] - eps);
          upper[b * n + j] = Math.min(1, x[j] + eps);
        }
        const y = trace(net, x, { matrices: m }).logits;
        const p = y.indexOf(Math.max(...y));
        let r = 0;
        for (let l = 0; l < K; l++)
          if (l !== p) {
            rows[(b * R + r) * K + p] = 1;
            rows[(b * R + r) * K + l] = -1;
            r++;
          }
      }
      const ref = openEngine(net, m, "reference"),
        e = openEngine(net, m, "onnxruntime");
      assert.equal(e.boundsBackend, "onnxruntime");
      try {
        const a = await ref.bounds(lower, upper, rows, R, B),
          c = await e.bounds(lower, upper, rows, R, B);
        for (let i = 0; i < B * R; i++)
          assert.ok(
            Math.abs(a.lower[i] - c.lower[i]) <= TOL * (1 + Math.abs(a.lower[i])),
            `margin ${i}: ${c.lower[i]} vs ${a.lower[i]}`,
          );
        a.preActivation.forEach((p, k) => {
          for (const side of ["lower", "upper"] as const)
            p[side].forEach((v, j) =>
              assert.ok(
                Math.abs(v - c.preActivation[k][side][j]) <= TOL * (1 + Math.abs(v)),
                `layer ${k} ${side} ${j}: ${c.preActivation[k][side][j]} vs ${v}`,
              ),
            );
        });
        await assert.rejects(() => e.bounds(lower, upper, rows, R, B, [new Float64Array(3)]), /slope arrays/);
      } finally {
        await e.dispose();
      }
    });

  it("mnist_mlp: the bounds graph loads in onnxruntime with its inputs and outputs", async () => {
    const net = load("mnist_mlp").network;
    const g = boundsGraph(net);
    assert.ok(g.ok);
    const session = await ort.InferenceSession.create(g.value);
    try {
      const relus = reluLayers(net);
      assert.deepEqual(
        [...session.inputNames].sort(),
        [BOUNDS_IO.lower, BOUNDS_IO.upper, BOUNDS_IO.rows, ...relus.map(BOUNDS_IO.slopes)].sort(),
      );
      assert.deepEqual(
        [...session.outputNames].sort(),
        [BOUNDS_IO.bound, ...relus.flatMap((id) => [BOUNDS_IO.preLower(id), BOUNDS_IO.preUpper(id)])].sort(),
      );
    } finally {
      await session.release();
    }
  });

  it("mnist_lenet (conv): the graph is refused with the layer named and the engine's bounds are the reference's", async () => {
    const s = load("mnist_lenet");
    const net = s.network,
      m = networkMatrices(net);
    const g = boundsGraph(net);
    assert.ok(!g.ok);
    assert.match(g.diagnostics[0].message, /Conv.*not affine conv/);
    const e = openEngine(net, m, "onnxruntime");
    try {
      assert.equal(e.boundsBackend, "reference");
      assert.match(e.boundsFallback ?? "", /bounds by the reference backend/);
      const x = Float64Array.from(modelInput(s, 0));
      const lo = x.map((v) => Math.max(0, v - 1 / 255)),
        hi = x.map((v) => Math.min(1, v + 1 / 255));
      const rows = new Float64Array(10);
      rows[0] = 1;
      rows[1] = -1;
      const a = await openEngine(net, m, "reference").bounds(lo, hi, rows, 1, 1),
        c = await e.bounds(lo, hi, rows, 1, 1);
      assert.deepEqual(c.lower, a.lower);
    } finally {
      await e.dispose();
    }
  });
});
