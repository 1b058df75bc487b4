// The engine's bounds on the example models (issue 23): the margins y_l* − y_l over boxes around test digits (mnist_mlp
// at radius 2/255 and 8/255, the conv nets at 2/255) — the onnxruntime backend (the float64 bounds graph) agrees
// with the reference (tightBounds + backsub, as the bracket's lower bound runs it) within 1e-4·(1 + |reference|), and
// so do the ReLU pre-activation bounds; the graph loads in onnxruntime with its declared inputs and outputs (every
// example model); slopes of the wrong length are refused.

import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { BOUNDS_IO, boundsGraph, poolLayers, reluLayers } from "../../../compiler/engine/index.js";
import { trace } from "../../../compiler/analysis/trace.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { openEngine } from "../../../runtime/engine/index.js";
import { marginRows } from "../../../runtime/rho/lower.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";

/**
 * The two backends differ by their pads: the reference widens every back-substituted bound by 1e-7·(1 + magnitude)
 * and every interval by 1e-9·(1 + magnitude), the graph by γ_N·magnitude (~1e-13), and the deeper conv nets carry the
 * difference through more layers (mnist_cnn_bn: 1.3e-5 relative on a margin).
 */
const TOL = 1e-4;

function load(name: string) {
  const s = openSession(`examples/models/${name}.onnx`, { data: "mnist:test", pixelScale: 255 });
  assert.ok(s.ok);
  return s.value;
}

describe("runtime/engine: bounds on the example models", function () {
  this.timeout(120_000);

  const CASES = [
    ["mnist_mlp", 2 / 255, 4],
    ["mnist_mlp", 8 / 255, 4],
    ["mnist_lenet", 2 / 255, 2],
    ["mnist_lenet_caffe", 2 / 255, 2],
    ["mnist_cnn_bn", 2 / 255, 2],
    ["mnist_nin", 2 / 255, 2],
  ] as const;
  for (const [model, eps, B] of CASES)
    it(`${model}: the margins' bounds over boxes of radius ${(eps * 255).toFixed(0)}/255 agree with the reference`, async () => {
      const s = load(model);
      const net = s.network,
        m = networkMatrices(net);
      const n = 784,
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
        rows.set(marginRows(p, K), b * R * K);
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
        const wrong = Array.from({ length: e.slopeLayers.length + 1 }, () => new Float64Array(3));
        await assert.rejects(() => e.bounds(lower, upper, rows, R, B, wrong), /slope arrays/);
      } finally {
        await e.dispose();
      }
    });

  for (const model of ["mnist_mlp", "mnist_lenet", "mnist_nin"])
    it(`${model}: the bounds graph loads in onnxruntime with its inputs and outputs`, async () => {
      const net = load(model).network;
      const g = boundsGraph(net);
      assert.ok(g.ok);
      const session = await ort.InferenceSession.create(g.value);
      try {
        const relus = reluLayers(net),
          pools = poolLayers(net);
        assert.equal(pools.length, model === "mnist_mlp" ? 0 : 2);
        // Max-pool layers take clamps of their inputs and give back those inputs' bounds, as ReLU layers do.
        assert.deepEqual(
          [...session.inputNames].sort(),
          [
            BOUNDS_IO.lower,
            BOUNDS_IO.upper,
            BOUNDS_IO.rows,
            ...relus.flatMap((id) => [BOUNDS_IO.slopes(id), BOUNDS_IO.clampLower(id), BOUNDS_IO.clampUpper(id)]),
            ...pools.flatMap((id) => [BOUNDS_IO.clampLower(id), BOUNDS_IO.clampUpper(id)]),
          ].sort(),
        );
        assert.deepEqual(
          [...session.outputNames].sort(),
          [
            BOUNDS_IO.bound,
            ...[...relus, ...pools].flatMap((id) => [BOUNDS_IO.preLower(id), BOUNDS_IO.preUpper(id)]),
          ].sort(),
        );
      } finally {
        await session.release();
      }
    });
});
