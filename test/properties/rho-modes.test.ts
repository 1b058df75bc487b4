// Issue 6 on random small networks: IBP and LP-tightened bounds hold at 10,000 box points each (corners
// included); lower (certified) ≤ exact ≤ walk ≤ rho_hat at every point; on 2-input networks the exact rho
// equals a brute-force grid search within the grid's resolution (when its MILPs finish in the time limit; else
// its bracket holds the grid's value); compile --mode relax ≤ exact ≤ restrict.

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../compiler/frontend/onnx/lower.js";
import { intervalBounds } from "../../compiler/analysis/bounds/interval.js";
import { tightenBounds } from "../../compiler/lp-bounds/tighten.js";
import type { Network } from "../../compiler/ir/network.js";
import { OnnxRuntimeEvaluator } from "../../runtime/evaluator/onnxruntime.js";
import { openEngine } from "../../runtime/engine/index.js";
import { DEFAULT_LAZY } from "../../runtime/lazy/lazy-loop.js";
import { rhoForPointMode, type RhoMode } from "../../runtime/rho/modes.js";
import { convArb, gridRho, mlpArb, prng, randomInputs, type RandomNet } from "../helpers/arbitraries.js";
import { compileOptions, type Mode } from "../../compiler/passes/options.js";
import { compilePoint } from "../../compiler/passes/pipeline.js";
import { createHighs, openHighsLp } from "../../runtime/solvers/highs.js";
import { networkMatrices } from "../../compiler/ir/matrices.js";
import { trace } from "../../compiler/analysis/trace.js";
import { type PointContext } from "../../runtime/point/context.js";
import { isBracket, type PointResult } from "../../runtime/rho/result.js";

const load = (r: RandomNet): Network => {
  const l = loadNetworkFromBytes(r.bytes);
  assert.ok(l.ok);
  return l.value.network;
};
const argmax = (y: ArrayLike<number>) => Array.from(y).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);

async function withCtx<T>(r: RandomNet, net: Network, f: (ctx: PointContext) => Promise<T>): Promise<T> {
  const ort = await OnnxRuntimeEvaluator.create(r.bytes, net, { provider: "cpu" });
  try {
    return await f({
      net,
      matrices: networkMatrices(net),
      engine: openEngine(net, networkMatrices(net), "reference"),
      evaluator: ort,
      pixelScale: 1,
      pixelMin: 0,
      pixelMax: 1,
      lazy: { ...DEFAULT_LAZY, timeLimit: 20 },
    });
  } finally {
    await ort.dispose();
  }
}

describe("properties: sound bounds (IBP and LP-tightened) at 10,000 box points", function () {
  this.timeout(120_000);
  let tighter = 0;
  after(() => console.log(`      tightening narrowed ${tighter} pre-activation intervals`));
  const prop = async (r: RandomNet, seed: number) => {
    const net = load(r);
    const [c] = randomInputs(net.inputShape, 1, seed);
    const rad = 0.05 + 0.2 * prng(seed)();
    const lower = c.map((v) => Math.max(0, v - rad)),
      upper = c.map((v) => Math.min(1, v + rad));
    const ibp = intervalBounds(net, lower, upper);
    const { bounds } = await tightenBounds(net, { lower, upper }, { open: (lp) => openHighsLp(lp) });
    bounds.forEach((b, id) =>
      b.lower.forEach((lo, j) => {
        assert.ok(
          lo >= ibp[id].lower[j] && b.upper[j] <= ibp[id].upper[j],
          `${r.description}: tightened looser than IBP at layer ${id}`,
        );
        if (lo > ibp[id].lower[j] + 1e-9 || b.upper[j] < ibp[id].upper[j] - 1e-9) tighter++;
      }),
    );
    const rand = prng(seed ^ 0x7e57);
    for (let s = 0; s < 10_000; s++) {
      // A third of the samples are box corners, where interval bounds are attained most often.
      const corner = s % 3 === 0;
      const x = lower.map((v, i) => (corner ? (rand() < 0.5 ? v : upper[i]) : v + rand() * (upper[i] - v)));
      const vals = trace(net, x).values;
      for (let id = 0; id < vals.length; id++) {
        const v = vals[id],
          b = bounds[id],
          ib = ibp[id];
        for (let j = 0; j < v.length; j++) {
          if (!(v[j] >= b.lower[j] && v[j] <= b.upper[j]))
            assert.fail(
              `${r.description}: layer ${id} neuron ${j}: ${v[j]} outside tightened [${b.lower[j]}, ${b.upper[j]}]`,
            );
          if (!(v[j] >= ib.lower[j] && v[j] <= ib.upper[j]))
            assert.fail(`${r.description}: layer ${id} neuron ${j}: ${v[j]} outside IBP`);
        }
      }
    }
  };
  it("on 12 random MLPs", () => fc.assert(fc.asyncProperty(mlpArb, fc.integer(), prop), { numRuns: 12, seed: 61 }));
  it("on 6 random conv nets", () => fc.assert(fc.asyncProperty(convArb, fc.integer(), prop), { numRuns: 6, seed: 62 }));
});

describe("properties: lower <= exact <= walk <= rho_hat", function () {
  this.timeout(300_000);
  const seen = { points: 0, optimal: 0, walkBetter: 0, exactBetter: 0, infinite: 0, forward: 0 };
  after(() =>
    console.log(
      `      ${seen.points} points: ${seen.optimal} exact optimal, exact < walk on ${seen.exactBetter}, walk < rho_hat on ${seen.walkBetter}, rho_hat = inf on ${seen.infinite} (walking forward found an example on ${seen.forward} of them)`,
    ),
  );
  const prop = async (r: RandomNet, seed: number) => {
    const net = load(r);
    const [x] = randomInputs(net.inputShape, 1, seed);
    const res = await withCtx(r, net, async (ctx) => ({
      restrict: await rhoForPointMode(ctx, "restrict", 0, x, null),
      walk: await rhoForPointMode(ctx, "walk", 0, x, null),
      bounds: await rhoForPointMode(ctx, "bounds", 0, x, null),
      exact: await rhoForPointMode(ctx, "exact", 0, x, null),
    }));
    const { restrict, walk, bounds, exact } = res;
    if (restrict.status === "error" || exact.status === "error") return;
    seen.points++;
    // restrict: the checked example of rho_hat; every other mode: the bracket's upper (a checked example).
    const up = (p: PointResult) =>
      isBracket(p) ? (p.upper ?? Infinity) : p.status === "adversarial" ? p.rho! : Infinity;
    const tol = (v: number) => 1e-5 * (1 + (Number.isFinite(v) ? v : 0));
    const rhoHat = up(restrict),
      w = up(walk),
      e = up(exact);
    if (!Number.isFinite(rhoHat)) seen.infinite++;
    assert.ok(w <= rhoHat + tol(rhoHat), `${r.description}: walk ${w} > rho_hat ${rhoHat}`);
    // The exact mode starts from the bracket's attack, not from walking: below walk's example once its MILPs
    // finished (within the float32 rule's gap), and its certified lower bound below it always.
    if (exact.optimal) assert.ok(e <= w + tol(w) + 1e-3 * (1 + e), `${r.description}: exact ${e} > walk ${w}`);
    assert.ok(exact.lower! <= w + tol(w), `${r.description}: exact lower ${exact.lower} > walk ${w}`);
    assert.ok(exact.lower! <= e + tol(e), `${r.description}: exact lower ${exact.lower} > exact ${e}`);
    assert.ok(bounds.lower! <= e + tol(e), `${r.description}: certified lower ${bounds.lower} > exact ${e}`);
    if (exact.optimal) {
      seen.optimal++;
      assert.ok(
        bounds.lower! <= exact.lower! + tol(e),
        `${r.description}: certified lower ${bounds.lower} > exact lower ${exact.lower}`,
      );
      // The checked example may sit a little beyond the MILP optimum: the float32 rule's raised margin.
      assert.ok(
        e - exact.lower! <= 1e-3 * (1 + e) || !Number.isFinite(e),
        `${r.description}: optimal but gap ${e - exact.lower!}`,
      );
    }
    if (e < w - tol(w)) seen.exactBetter++;
    if (w < rhoHat - tol(rhoHat)) seen.walkBetter++;
    if (!Number.isFinite(rhoHat) && Number.isFinite(w)) seen.forward++;
  };
  it("on 20 random MLPs", () => fc.assert(fc.asyncProperty(mlpArb, fc.integer(), prop), { numRuns: 20, seed: 71 }));
  it("on 6 random conv nets", () => fc.assert(fc.asyncProperty(convArb, fc.integer(), prop), { numRuns: 6, seed: 72 }));
});

describe("properties: exact rho = brute-force grid search on 2-input networks", function () {
  this.timeout(300_000);
  const H = 256;
  const seen = { points: 0, optimal: 0 };
  after(() =>
    console.log(`      ${seen.points} points: ${seen.optimal} exact optimal (compared with the grid exactly)`),
  );
  const prop = async (r: RandomNet, seed: number) => {
    const net = load(r);
    const [x] = randomInputs(net.inputShape, 1, seed);
    const grid = gridRho(net, x, H);
    const p = await withCtx(r, net, (ctx) => rhoForPointMode(ctx, "exact", 0, x, null));
    if (p.status === "error") return;
    const e = p.upper ?? Infinity;
    // Whether the MILPs finish within the time limit depends on the machine's load, so optimality is counted,
    // not asserted. Sound either way: lower ≤ rho ≤ grid (a grid point of another label is an example), and
    // the grid comes within its resolution of rho ≤ e.
    seen.points++;
    assert.ok(p.lower! <= grid + 1e-5, `${r.description}: exact lower ${p.lower} > grid ${grid}`);
    if (Number.isFinite(e)) assert.ok(grid <= e + 2 / H, `${r.description}: grid ${grid} > exact ${e} + 2/${H}`);
    if (!p.optimal) return;
    seen.optimal++;
    // Solved to optimality the MILP is exact: no grid point beats it.
    assert.ok(e <= grid + 1e-5, `${r.description}: exact ${e} > grid ${grid}`);
    if (!Number.isFinite(e)) assert.equal(grid, Infinity, `${r.description}: exact found nothing, grid found ${grid}`);
  };
  const twoInputs = mlpArb.filter((r) => r.inputShape[1] === 2);
  it("on 12 random 2-input MLPs", () =>
    fc.assert(fc.asyncProperty(twoInputs, fc.integer(), prop), { numRuns: 12, seed: 81 }));
});

describe("properties: compile --mode relax (triangle LP) <= --mode exact (MILP) <= restrict (LP)", function () {
  this.timeout(120_000);
  const highs = createHighs();
  const prop = async (r: RandomNet, seed: number) => {
    const net = load(r);
    const [x] = randomInputs(net.inputShape, 1, seed);
    const compile = (mode: Mode, radius: number) => {
      const o = compileOptions({ mode, form: "layered", pixelScale: 1, pixelMin: 0, pixelMax: 1, radius });
      assert.ok(o.ok, o.ok ? "" : o.diagnostics[0].message);
      return compilePoint(net, x, o.value, { name: "m", header: () => [] }).targets[0].lp;
    };
    const sr = await highs.solve(compile("restrict", Infinity));
    const radius = sr.status === "optimal" ? sr.objective! + 1e-6 : 0.1;
    const [se, sx] = [
      await highs.solve(compile("exact", radius), { timeLimit: 20 }),
      await highs.solve(compile("relax", radius)),
    ];
    if (se.status === "timeout") return;
    // The relaxation contains the MILP's feasible set: infeasible only if the MILP is, and never above it.
    if (sx.status === "infeasible")
      assert.equal(se.status, "infeasible", `${r.description}: relax infeasible, exact ${se.status}`);
    if (se.status === "optimal") {
      assert.equal(sx.status, "optimal", `${r.description}: exact optimal, relax ${sx.status}`);
      assert.ok(
        sx.objective! <= se.objective! + 1e-6,
        `${r.description}: relax ${sx.objective} > exact ${se.objective}`,
      );
      if (sr.status === "optimal")
        assert.ok(
          se.objective! <= sr.objective! + 1e-6,
          `${r.description}: exact ${se.objective} > restrict ${sr.objective}`,
        );
    }
  };
  it("on 20 random MLPs and conv nets", () =>
    fc.assert(fc.asyncProperty(fc.oneof(mlpArb, convArb), fc.integer(), prop), { numRuns: 20, seed: 91 }));
});
