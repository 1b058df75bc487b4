// The exact mode (big-M MILP from sound interval bounds) on random small networks: the MILP optimum is
// at most the restricted LP's (the restriction only removes points), its optimiser has the target label,
// and no sampled point of the box with the target label is closer to x* than the MILP's optimum.

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../compiler/frontend/onnx/lower.js";
import { intervalBounds } from "../../compiler/analysis/bounds/interval.js";
import { compileOptions } from "../../compiler/passes/options.js";
import { compilePoint } from "../../compiler/passes/pipeline.js";
import { createHighs } from "../../runtime/solvers/highs.js";
import { convArb, mlpArb, prng, randomInputs, type RandomNet } from "../helpers/arbitraries.js";
import { trace } from "../../compiler/analysis/trace.js";

const highs = createHighs();
const margin = (y: ArrayLike<number>, l: number) =>
  Math.min(...Array.from(y).map((v, k) => (k === l ? Infinity : y[l] - v)));

describe("properties: interval bounds", () => {
  it("contain every layer's value at sampled points of the box", () => {
    fc.assert(
      fc.property(fc.oneof(mlpArb, convArb), fc.integer(), (r: RandomNet, seed) => {
        const l = loadNetworkFromBytes(r.bytes);
        assert.ok(l.ok);
        const net = l.value.network;
        const [c] = randomInputs(net.inputShape, 1, seed);
        const rad = 0.1;
        const lo = c.map((v) => Math.max(0, v - rad)),
          hi = c.map((v) => Math.min(1, v + rad));
        const b = intervalBounds(net, lo, hi);
        const rand = prng(seed);
        for (let s = 0; s < 20; s++) {
          const x = lo.map((v, i) => v + rand() * (hi[i] - v));
          trace(net, x).values.forEach((vals, id) =>
            vals.forEach((v, j) =>
              assert.ok(v >= b[id].lower[j] && v <= b[id].upper[j], `${r.description}: layer ${id}`),
            ),
          );
        }
      }),
      { numRuns: 150, seed: 41 },
    );
  });
});

describe("properties: the exact MILP", function () {
  this.timeout(600_000);
  const seen = { optimal: 0, infeasible: 0, tighter: 0, timeout: 0 };
  after(() => {
    console.log(
      `      exact MILPs: ${seen.optimal} optimal (${seen.tighter} strictly below the restricted LP), ${seen.infeasible} infeasible, ${seen.timeout} over 20 s`,
    );
    assert.ok(seen.timeout <= 5, `${seen.timeout} MILPs hit the time limit`);
  });
  const prop = async (r: RandomNet, seed: number) => {
    const l = loadNetworkFromBytes(r.bytes);
    assert.ok(l.ok);
    const net = l.value.network;
    const [x] = randomInputs(net.inputShape, 1, seed);
    // The restricted LP's optimum bounds rho from above: the exact MILP only needs that radius (tighter
    // interval bounds, fewer unstable ReLUs). Without one, a small radius.
    const compile = (mode: "exact" | "restrict", radius: number) => {
      const o = compileOptions({ mode, form: "layered", pixelScale: 1, pixelMin: 0, pixelMax: 1, radius });
      assert.ok(o.ok, o.ok ? "" : o.diagnostics[0].message);
      return compilePoint(net, x, o.value, { name: "e", header: () => [] });
    };
    const restricted = compile("restrict", Infinity);
    const sr = await highs.solve(restricted.targets[0].lp);
    const radius = sr.status === "optimal" ? sr.objective! + 1e-6 : 0.05;
    const exact = compile("exact", radius);
    const target = exact.targets[0].label;
    const se = await highs.solve(exact.targets[0].lp, { timeLimit: 20 });
    if (se.status === "timeout") {
      seen.timeout++;
      return;
    }
    assert.ok(
      se.status === "optimal" || se.status === "infeasible",
      `${r.description}: ${se.status} ${se.message ?? ""}`,
    );
    if (se.status === "infeasible") {
      seen.infeasible++;
      // Nothing within the radius has the target label: then the restricted LP found nothing there either.
      assert.ok(sr.status === "infeasible", `${r.description}: the LP found ${sr.objective} inside the radius`);
      return;
    }
    seen.optimal++;
    const t = se.objective!;
    if (sr.status === "optimal") {
      assert.ok(t <= sr.objective! + 1e-6, `${r.description}: MILP ${t} > LP ${sr.objective}`);
      if (t < sr.objective! - 1e-6) seen.tighter++;
    }
    const xe = Float64Array.from(exact.targets[0].inverse(se.x!).subarray(0, x.length));
    assert.ok(
      margin(trace(net, xe).logits, target) >= -1e-6,
      `${r.description}: MILP optimiser margin ${margin(trace(net, xe).logits, target)}`,
    );
    const rand = prng(seed ^ 0xbeef);
    for (let s = 0; s < 500; s++) {
      const rad = t * (0.2 + rand());
      const z = x.map((v) => Math.min(1, Math.max(0, v + rad * (2 * rand() - 1))));
      if (margin(trace(net, z).logits, target) < 0) continue;
      const dist = Math.max(...Array.from(z, (v, i) => Math.abs(v - x[i])));
      assert.ok(t <= dist + 1e-6, `${r.description}: a point with the target label at ${dist} < MILP optimum ${t}`);
    }
  };
  it("on 30 random MLPs", () => fc.assert(fc.asyncProperty(mlpArb, fc.integer(), prop), { numRuns: 30, seed: 51 }));
  it("on 15 random conv nets", () =>
    fc.assert(fc.asyncProperty(convArb, fc.integer(), prop), { numRuns: 15, seed: 52 }));
});
