// Property: the bounds graph with its clamps taken as the intermediate bounds (BoundsAsk.intervals = false: no
// interval computed for the layers they cover) gives what the graph with intervals gives when the clamps are an
// earlier call's bounds on the same boxes, as the optimiser's rows' pass and filtered smart branching pass them.
// float64: the same bound, intermediate bounds and coefficients up to 1e-12 relative (both intersect the same
// numbers); float32 (the steering variant) likewise up to 1e-5. On random dense, conv (max-pool included) and
// layer-zoo networks, with random split clamps, row slopes and multipliers. Soundness follows: the float64 bound
// with intervals is the graph's, checked elsewhere against sampled points (engine-bounds.test.ts).

import assert from "node:assert/strict";
import fc from "fast-check";
import { sizeOf } from "../../compiler/ir/network.js";
import { boundsGraph } from "../../compiler/engine/bounds-graph.js";
import { openEngine } from "../../runtime/engine/index.js";
import { mlpArb, netFamilies, type RandomNet } from "../helpers/arbitraries.js";
import { randomCase, splitClamps } from "../helpers/boxes.js";

async function check(rn: RandomNet, seed: number, dense: boolean): Promise<void> {
  const B = 3,
    R = 2;
  const { net, m, r, lower, upper, rows } = randomCase(rn, seed, B, R);
  const ort = openEngine(net, m, "onnxruntime");
  try {
    assert.equal(ort.boundsBackend, "onnxruntime", `${rn.description}: ${ort.boundsFallback}`);
    const widths = ort.slopeLayers.map((id) => sizeOf(net.layers[id].shape));
    // The graph without intervals is smaller: the products (MatMul, Mul) of the layers ReLUs and max-pools read are
    // left out (the MLPs have such layers; a conv net's ReLU may read the input itself).
    const products = (intervals: boolean) => {
      const g = boundsGraph(net, m, { optimisable: true, refine: false, intervals });
      assert.ok(g.ok);
      return Buffer.from(g.value).toString("latin1").split("Mul").length;
    };
    const [without, withIntervals] = [products(false), products(true)];
    assert.ok(
      dense && widths.length > 0 ? without < withIntervals : without <= withIntervals,
      `${rn.description}: ${without} products`,
    );
    const split = splitClamps(net, m, ort.slopeLayers, lower, upper, B, r);
    const perRow = (f: () => number) => widths.map((w) => Float64Array.from({ length: B * R * w }, f));
    const ask = {
      rowSlopes: perRow(() => (r() < 0.1 ? -1 : r())),
      multipliers: perRow(() => 2 * r() - 1),
      coefficients: true,
    };
    // The earlier call: its intermediate bounds (the splits applied) become the clamps of the next two.
    const first = await ort.bounds(lower, upper, rows, R, B, undefined, split.clamps, ask);
    const given = {
      ...ask,
      refine: false,
      ...(first.poolInput!.length > 0 ? { poolClamps: first.poolInput! } : {}),
    };
    for (const steer of [false, true]) {
      const tol = steer ? 1e-5 : 1e-12;
      const withIntervals = await ort.bounds(lower, upper, rows, R, B, undefined, first.preActivation, {
        ...given,
        steer,
      });
      const clampsAlone = await ort.bounds(lower, upper, rows, R, B, undefined, first.preActivation, {
        ...given,
        steer,
        intervals: false,
      });
      const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
        for (let i = 0; i < a.length; i++)
          if (!(a[i] === b[i] || Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(a[i]))))
            assert.fail(`${rn.description}: ${steer ? "float32" : "float64"} ${what}[${i}]: ${b[i]} vs ${a[i]}`);
      };
      close(withIntervals.lower, clampsAlone.lower, "bound");
      withIntervals.preActivation.forEach((p, i) => {
        close(p.lower, clampsAlone.preActivation[i].lower, `pre_lower ${i}`);
        close(p.upper, clampsAlone.preActivation[i].upper, `pre_upper ${i}`);
      });
      withIntervals.coefficients!.forEach((c, i) => close(c, clampsAlone.coefficients![i], `coefficients ${i}`));
    }
  } finally {
    await ort.dispose();
  }
}

const FAMILIES = netFamilies({ dense: 30, conv: 30, zoo: 30 });

for (const f of FAMILIES)
  describe(`property: the bounds graph with its clamps as the intermediate bounds, on random ${f.name}`, function () {
    this.timeout(300_000);
    it("the same bounds as with intervals, float64 and float32", async () => {
      await fc.assert(
        fc.asyncProperty(f.arb, fc.integer(), (rn, seed) => check(rn, seed, f.arb === mlpArb)),
        { numRuns: f.runs },
      );
    });
  });
