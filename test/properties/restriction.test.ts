// Soundness of the encoding and of the convex restriction, as fast-check properties over random networks
// (the project's ONNX writer) and random seed points:
//  - Theorem 1: the trace at x satisfies C_f(x, f(x)) and violates C_out(l) for every l ≠ f(x);
//  - the restricted LP's optimiser has the target label (reference evaluator and onnxruntime) and x*'s
//    ReLU phases and max-pool winners; its objective is ≤ the L∞ distance of every sampled point of the
//    region that has the target label; `layered` and `reduced` give the same optimum.

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../compiler/frontend/onnx/lower.js";
import { and, satisfies } from "../../compiler/ir/constraint.js";
import { encode, outputConstraint } from "../../compiler/passes/encode.js";
import { evaluate } from "../../compiler/passes/evaluate.js";
import { compileOptions } from "../../compiler/passes/options.js";
import { compilePoint } from "../../compiler/passes/pipeline.js";
import type { Network } from "../../compiler/ir/network.js";
import { OnnxRuntimeEvaluator } from "../../runtime/evaluator/onnxruntime.js";
import { createHighs } from "../../runtime/solvers/highs.js";
import { convArb, mlpArb, prng, randomInputs, type RandomNet } from "../helpers/arbitraries.js";
import { trace, type Trace } from "../../compiler/analysis/trace.js";

const BOX = { inputLower: 0, inputUpper: 1 };
const highs = createHighs();

function lower(r: RandomNet): Network {
  const l = loadNetworkFromBytes(r.bytes, r.description);
  assert.ok(l.ok, r.description);
  return l.value.network;
}

/** Whether the trace at x has x*'s phases (within tol) and max-pool winners (within tol). */
function sameRegion(net: Network, star: Trace, at: Trace, tol: number): boolean {
  for (const l of net.layers) {
    if (l.kind === "relu") {
      const u = at.values[l.input],
        ph = star.pattern.layers.get(l.id)!;
      for (let j = 0; j < u.length; j++) if (ph[j] ? u[j] < -tol : u[j] > tol) return false;
    } else if (l.kind === "maxpool") {
      const u = at.values[l.input],
        win = star.pattern.layers.get(l.id)!,
        best = at.pattern.layers.get(l.id)!;
      for (let j = 0; j < win.length; j++) if (u[win[j]] < u[best[j]] - tol) return false;
    }
  }
  return true;
}

const margin = (y: ArrayLike<number>, l: number) =>
  Math.min(...Array.from(y).map((v, k) => (k === l ? Infinity : y[l] - v)));

describe("properties: Theorem 1 (f(x) = l iff C_f(x, l) is satisfiable)", function () {
  this.timeout(300_000);
  const prop = (r: RandomNet, seed: number) => {
    const net = lower(r);
    const enc = encode(net, BOX);
    for (const x of randomInputs(net.inputShape, 3, seed)) {
      const { assignment, trace: t } = evaluate(net, enc, x);
      const pred = t.logits.indexOf(Math.max(...t.logits));
      const scale = 1e-9 * (1 + Math.max(...Array.from(assignment, Math.abs)));
      assert.ok(
        satisfies(and(enc.problem.constraint, outputConstraint(enc, pred, 0)), assignment, scale),
        r.description,
      );
      for (let l = 0; l < t.logits.length; l++) {
        if (t.logits[l] < t.logits[pred])
          assert.ok(!satisfies(outputConstraint(enc, l, 0), assignment, 0), `${r.description}: C_out(${l})`);
      }
    }
  };
  it("on 150 random MLPs", () => fc.assert(fc.property(mlpArb, fc.integer(), prop), { numRuns: 150, seed: 11 }));
  it("on 150 random conv nets", () => fc.assert(fc.property(convArb, fc.integer(), prop), { numRuns: 150, seed: 12 }));
});

describe("properties: the restricted LP (convex restriction at x*)", function () {
  this.timeout(600_000);
  // Printed so a reader sees the properties were exercised, not satisfied vacuously.
  const seen = { optimal: 0, infeasible: 0, samples: 0 };
  after(() =>
    console.log(
      `      restricted LPs: ${seen.optimal} optimal, ${seen.infeasible} infeasible; ${seen.samples} sampled region points with the target label checked`,
    ),
  );
  const opts = (form: "layered" | "reduced") => {
    const o = compileOptions({ form, pixelScale: 1, pixelMin: 0, pixelMax: 1 });
    assert.ok(o.ok);
    return o.value;
  };
  const prop = async (r: RandomNet, seed: number) => {
    const net = lower(r);
    const [xStar] = randomInputs(net.inputShape, 1, seed);
    const info = { name: "p", header: () => [] };
    const reduced = compilePoint(net, xStar, opts("reduced"), info);
    const layered = compilePoint(net, xStar, opts("layered"), info);
    const target = reduced.targets[0].label;
    const sr = await highs.solve(reduced.targets[0].lp);
    const sl = await highs.solve(layered.targets[0].lp);
    assert.ok(
      sr.status === "optimal" || sr.status === "infeasible",
      `${r.description}: ${sr.status} ${sr.message ?? ""}`,
    );
    assert.equal(sl.status, sr.status, `${r.description}: layered ${sl.status} vs reduced ${sr.status}`);
    if (sr.status !== "optimal") {
      seen.infeasible++;
      return;
    }
    seen.optimal++;
    const tR = sr.objective!,
      tL = sl.objective!;
    assert.ok(
      Math.abs(tR - tL) <= 1e-6 * Math.max(1e-3, Math.abs(tR)),
      `${r.description}: reduced ${tR} vs layered ${tL}`,
    );

    const x = Float64Array.from(reduced.targets[0].inverse(sr.x!).subarray(0, xStar.length));
    const star = reduced.evaluated.trace;
    const at = trace(net, x);
    assert.ok(margin(at.logits, target) >= -1e-6, `${r.description}: reference margin ${margin(at.logits, target)}`);
    assert.ok(sameRegion(net, star, at, 1e-6), `${r.description}: optimiser left the linear region of x*`);
    const ort = await OnnxRuntimeEvaluator.create(r.bytes, net, { provider: "cpu" });
    try {
      const [y] = await ort.logits([x]);
      const tol = 1e-6 * (1 + Math.max(...Array.from(y, Math.abs)));
      assert.ok(margin(y, target) >= -tol, `${r.description}: onnxruntime margin ${margin(y, target)}`);
    } finally {
      await ort.dispose();
    }
    // No sampled point of the region with the target label is closer to x* than the LP's optimum.
    const rand = prng(seed ^ 0x5eed);
    for (let s = 0; s < 1000; s++) {
      const radius = Math.abs(tR) * (0.5 + 2 * rand()) + 1e-3 * rand();
      const z = xStar.map((v) => Math.min(1, Math.max(0, v + radius * (2 * rand() - 1))));
      const tz = trace(net, z);
      if (margin(tz.logits, target) < 0 || !sameRegion(net, star, tz, 0)) continue;
      const dist = Math.max(...Array.from(z, (v, i) => Math.abs(v - xStar[i])));
      seen.samples++;
      assert.ok(tR <= dist + 1e-7, `${r.description}: region point at distance ${dist} < LP optimum ${tR}`);
    }
  };
  it("on 100 random MLPs", () => fc.assert(fc.asyncProperty(mlpArb, fc.integer(), prop), { numRuns: 100, seed: 21 }));
  it("on 100 random conv nets", () =>
    fc.assert(fc.asyncProperty(convArb, fc.integer(), prop), { numRuns: 100, seed: 22 }));
});
