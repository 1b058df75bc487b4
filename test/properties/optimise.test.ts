// Property: on random dense ReLU networks and random conv networks of every layer kind, the optimised bounds
// (runtime/engine/optimise.ts: α-CROWN's row slopes and β-CROWN's multipliers, by gradient steps on the bounds
// graph's optimisable variant) are
//   sound        never above G·y at sampled points of each box (with split clamps: at the anchor and wherever a sample
//                satisfies the splits), also when started from random slopes (some outside [0, 1]) and random
//                multipliers of either sign on every neuron: the graph uses a multiplier only with the sign its
//                box's bounds make sound; likewise with max-pool input clamps (branch and bound's max-pool splits)
//                and random multipliers of either sign on every pool input (paired with the clamp end of its sign,
//                none where that end is infinite)
//   never worse  than the plain bounds graph's (DeepPoly's slopes) they start from, row by row, exactly
// both as steered (the default: the iterations in the float32 graph, their choice certified by a float64 call) and
// with every call in float64 (OptimiseOptions.steer = false)
//   intermediate the pre-activation bounds contain every sampled pre-activation.

import assert from "node:assert/strict";
import fc from "fast-check";
import { sizeOf } from "../../compiler/ir/network.js";
import { trace } from "../../compiler/analysis/trace.js";
import { openEngine } from "../../runtime/engine/index.js";
import { optimisedBounds } from "../../runtime/engine/optimise.js";
import { netFamilies, type RandomNet } from "../helpers/arbitraries.js";
import { inSubdomain, poolClamps, randomCase, samplePoints, splitClamps } from "../helpers/boxes.js";

async function check(rn: RandomNet, seed: number, split: boolean): Promise<void> {
  const B = 3,
    R = 2;
  const { net, m, n, K, r, lower, upper, rows } = randomCase(rn, seed, B, R);
  const engine = openEngine(net, m, "onnxruntime");
  try {
    assert.ok(engine.optimisable, rn.description);
    const layers = engine.slopeLayers;
    const widths = layers.map((id) => sizeOf(net.layers[id].shape));
    const sc = split ? splitClamps(net, m, layers, lower, upper, B, r) : undefined;
    const clamps = sc?.clamps;
    const pools = engine.poolLayers;
    const pooled = sc && pools.length > 0 ? poolClamps(net, m, pools, sc.anchors, r) : undefined;
    const poolIn = pools.map((id) => sizeOf(net.layers[(net.layers[id] as { input: number }).input].shape));
    const plain = await engine.bounds(
      lower,
      upper,
      rows,
      R,
      B,
      undefined,
      clamps,
      pooled ? { poolClamps: pooled } : undefined,
    );
    const fromDeepPoly = await optimisedBounds(engine, net, lower, upper, rows, R, B, {
      iterations: 4,
      clamps,
      ...(pooled ? { poolClamps: pooled } : {}),
    });
    const float64Only = await optimisedBounds(engine, net, lower, upper, rows, R, B, {
      iterations: 4,
      clamps,
      ...(pooled ? { poolClamps: pooled } : {}),
      steer: false,
    });
    const fromRandom = await optimisedBounds(engine, net, lower, upper, rows, R, B, {
      iterations: 4,
      clamps,
      ...(pooled
        ? {
            poolClamps: pooled,
            poolMultiplierSigns: poolIn.map((w) => Int8Array.from({ length: B * w }, () => Math.floor(3 * r()) - 1)),
            poolMultipliers: poolIn.map((w) => Float64Array.from({ length: B * R * w }, () => 4 * r() - 2)),
          }
        : {}),
      rowSlopes: widths.map((w) => Float64Array.from({ length: B * R * w }, () => 1.4 * r() - 0.2)),
      multipliers: widths.map((w) => Float64Array.from({ length: B * R * w }, () => 4 * r() - 2)),
    });
    for (let i = 0; i < B * R; i++)
      for (const o of [fromDeepPoly, float64Only])
        assert.ok(
          o.lower[i] >= plain.lower[i],
          `${rn.description}: row ${i}: optimised ${o.lower[i]} below the plain ${plain.lower[i]}`,
        );
    for (let b = 0; b < B; b++) {
      const points = samplePoints(lower.subarray(b * n, (b + 1) * n), upper.subarray(b * n, (b + 1) * n), r);
      if (sc) points.push(sc.anchors[b]);
      let inside = 0;
      for (const x of points) {
        const t = trace(net, x, { matrices: m });
        if (!inSubdomain(net, layers, clamps, b, t, pools, pooled)) continue;
        inside++;
        for (let q = 0; q < R; q++) {
          let gy = 0;
          for (let k = 0; k < K; k++) gy += rows[(b * R + q) * K + k] * t.logits[k];
          const slack = 1e-12 * (1 + Math.abs(gy));
          for (const [name, o] of [
            ["from DeepPoly's slopes", fromDeepPoly],
            ["float64 throughout", float64Only],
            ["from random slopes and multipliers", fromRandom],
          ] as const)
            assert.ok(o.lower[b * R + q] <= gy + slack, `${rn.description}: optimised bound (${name}) above G·y`);
        }
        layers.forEach((id, li) => {
          const u = t.values[(net.layers[id] as { input: number }).input],
            w = widths[li];
          for (let j = 0; j < w; j++) {
            const s = 1e-12 * (1 + Math.abs(u[j]));
            assert.ok(fromRandom.preActivation[li].lower[b * w + j] <= u[j] + s, `${rn.description}: pre lower`);
            assert.ok(fromRandom.preActivation[li].upper[b * w + j] >= u[j] - s, `${rn.description}: pre upper`);
          }
        });
      }
      assert.ok(inside > 0, `${rn.description}: no sampled point in box ${b}'s subdomain`);
    }
  } finally {
    await engine.dispose();
  }
}

const FAMILIES = netFamilies({ dense: 40, conv: 25, zoo: 25 });

for (const f of FAMILIES)
  describe(`property: optimised bounds (α, β) on random ${f.name}`, function () {
    this.timeout(300_000);
    for (const split of [false, true])
      it(`sound from any start, never below the plain bounds${split ? " (split and max-pool clamps, multipliers)" : ""}`, () =>
        fc.assert(
          fc.asyncProperty(f.arb, fc.integer(), (rn, seed) => check(rn, seed, split)),
          { numRuns: f.runs },
        ));
  });
