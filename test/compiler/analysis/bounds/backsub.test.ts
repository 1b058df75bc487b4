// Soundness of the verify engine's bounds and answers on random networks (the project's ONNX writer): the
// back-substituted bounds contain every layer's value at sampled box points and lie inside IBP's; an atom's
// back-substituted lower bound is below its value at the samples; verify never says unsat for a property a
// sampled point violates, and each sat counterexample holds under onnxruntime.

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../../../compiler/frontend/onnx/lower.js";
import { intervalBounds } from "../../../../compiler/analysis/bounds/interval.js";
import { outputSize } from "../../../../compiler/ir/network.js";
import { OnnxRuntimeEvaluator } from "../../../../runtime/evaluator/onnxruntime.js";
import { backsub, tightBounds } from "../../../../compiler/analysis/bounds/backsub.js";
import { verifyProperty } from "../../../../runtime/verify/engine.js";
import { openEngine } from "../../../../runtime/engine/index.js";
import type { Atom, VnnlibProperty } from "../../../../grammar/vnnlib/parse.js";
import { convArb, mlpArb, prng, randomInputs, type RandomNet } from "../../../helpers/arbitraries.js";
import { networkMatrices } from "../../../../compiler/ir/matrices.js";
import { trace } from "../../../../compiler/analysis/trace.js";

function setup(r: RandomNet, seed: number, rad: number) {
  const l = loadNetworkFromBytes(r.bytes);
  assert.ok(l.ok);
  const net = l.value.network;
  const [c] = randomInputs(net.inputShape, 1, seed);
  const lo = c.map((v) => Math.max(0, v - rad)),
    hi = c.map((v) => Math.min(1, v + rad));
  const rand = prng(seed ^ 0x5bd1e995);
  const samples = Array.from({ length: 30 }, (_, s) =>
    lo.map((v, i) => (s < 4 ? (rand() < 0.5 ? v : hi[i]) : v + rand() * (hi[i] - v))),
  );
  return { net, lo, hi, rand, samples };
}

describe("verify: back-substituted bounds on random networks", () => {
  it("contain every layer's value at sampled points (corners too), inside IBP; atom lower bounds hold", () => {
    fc.assert(
      fc.property(fc.oneof(mlpArb, convArb), fc.integer(), (r: RandomNet, seed) => {
        const { net, lo, hi, rand, samples } = setup(r, seed, 0.2);
        const m = networkMatrices(net);
        const b = tightBounds(net, m, lo, hi),
          ibp = intervalBounds(net, lo, hi);
        b.forEach((x, id) =>
          x.lower.forEach((v, j) => {
            assert.ok(
              v >= ibp[id].lower[j] && x.upper[j] <= ibp[id].upper[j],
              `${r.description}: layer ${id} wider than IBP`,
            );
          }),
        );
        const w = Float64Array.from({ length: outputSize(net) }, () => rand() * 2 - 1);
        const atom = backsub(net, m, b, net.output, w, new Float64Array(1), 1);
        for (const x of samples) {
          const t = trace(net, x);
          t.values.forEach((vals, id) =>
            vals.forEach((v, j) =>
              assert.ok(
                v >= b[id].lower[j] && v <= b[id].upper[j],
                `${r.description}: layer ${id}[${j}] = ${v} outside [${b[id].lower[j]}, ${b[id].upper[j]}]`,
              ),
            ),
          );
          if (atom) {
            const y = t.values[net.output];
            const wy = y.reduce((s, v, k) => s + w[k] * v, 0);
            assert.ok(
              atom.lower[0] <= wy && wy <= atom.upper[0],
              `${r.description}: w·y = ${wy} outside [${atom.lower[0]}, ${atom.upper[0]}]`,
            );
          }
        }
      }),
      { numRuns: 120, seed: 61 },
    );
  });
});

describe("verify: answers on random MLPs agree with sampled points", function () {
  this.timeout(120_000);
  it("no unsat where a sample is unsafe; every sat checks in float32", async () => {
    const seen = { sat: 0, unsat: 0, other: 0 };
    await fc.assert(
      fc.asyncProperty(mlpArb, fc.integer(), fc.integer({ min: 0, max: 9 }), async (r: RandomNet, seed, q) => {
        const { net, lo, hi, rand, samples } = setup(r, seed, 0.1);
        const ny = outputSize(net);
        const w = Array.from({ length: ny }, () => rand() * 2 - 1);
        const vals = samples.map((x) => trace(net, x).values[net.output].reduce((s, v, k) => s + w[k] * v, 0));
        const min = Math.min(...vals),
          max = Math.max(...vals);
        // Unsafe: w·y ≥ c, c from the bottom of the sampled range (sat) to twice its width above it (mostly unsat).
        const c = min + (q / 3) * (max - min);
        const atom: Atom = {
          term: {
            x: new Map(),
            y: new Map(w.map((v, k) => [k, v] as [number, number]).filter(([, v]) => v !== 0)),
            c: -c,
          },
          op: ">=",
        };
        const prop: VnnlibProperty = {
          numInputs: lo.length,
          numOutputs: ny,
          inputLower: lo,
          inputUpper: hi,
          inputConstraints: [],
          unsafe: [[atom]],
        };
        const ev = await OnnxRuntimeEvaluator.create(r.bytes, net, { provider: "cpu", threads: 1 });
        const matrices = networkMatrices(net);
        const engine = openEngine(net, matrices, "onnxruntime", { threads: 1 });
        try {
          const res = await verifyProperty({ net, matrices, evaluator: ev, engine }, prop, {
            timeout: 3,
          });
          const violated = vals.some((v) => v >= c + 1e-6 * (1 + Math.abs(c)));
          if (res.status === "unsat") assert.ok(!violated, `${r.description}: unsat, but a sample has w·y ≥ ${c}`);
          if (res.status === "sat") {
            const ce = res.counterexample!;
            ce.x.forEach((v, i) => assert.ok(v >= lo[i] && v <= hi[i]));
            const [y] = await ev.logits([ce.x]);
            assert.ok(y.reduce((s, v, k) => s + w[k] * v, 0) >= c, `${r.description}: the counterexample fails`);
          }
          seen[res.status === "sat" ? "sat" : res.status === "unsat" ? "unsat" : "other"]++;
        } finally {
          await engine.dispose();
          await ev.dispose();
        }
      }),
      { numRuns: 40, seed: 62 },
    );
    console.log(`      answers: ${JSON.stringify(seen)}`);
    assert.ok(seen.sat > 5 && seen.unsat > 5, `answers: ${JSON.stringify(seen)}`);
  });
});
