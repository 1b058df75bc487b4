// Random input boxes, split clamps and sample points for the engine's bounds properties (engine-bounds, optimise):
// B boxes of three sizes, split clamps (a ReLU's pre-activation ≥ 0 or ≤ 0 on some neurons, as branch and bound
// gives them) consistent with an anchor point of each box, and the test of whether a traced point lies in a box's
// subdomain.

import assert from "node:assert/strict";
import { trace } from "../../compiler/analysis/trace.js";
import { loadNetworkFromBytes } from "../../compiler/frontend/onnx/lower.js";
import { networkMatrices, type NetworkMatrices } from "../../compiler/ir/matrices.js";
import { sizeOf, type Network } from "../../compiler/ir/network.js";
import { prng, type RandomNet } from "./arbitraries.js";

type Trace = ReturnType<typeof trace>;

/** A random network's bounds case: the network, B random boxes and R random rows per box over its K outputs. */
export function randomCase(rn: RandomNet, seed: number, B: number, R: number) {
  const loaded = loadNetworkFromBytes(rn.bytes, rn.description);
  assert.ok(loaded.ok, rn.description);
  const net = loaded.value.network;
  const m = networkMatrices(net);
  const [n, K] = [sizeOf(net.inputShape), sizeOf(net.layers[net.output].shape)];
  const r = prng(seed);
  const { lower, upper } = randomBoxes(r, B, n);
  const rows = Float64Array.from({ length: B * R * K }, () => 2 * r() - 1);
  return { net, m, n, K, r, lower, upper, rows };
}

/** B boxes of n values each around centres in [−1, 1], radii ~0.01, ~0.2 and ~1 (cycling). */
export function randomBoxes(r: () => number, B: number, n: number): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(B * n),
    upper = new Float64Array(B * n);
  for (let b = 0; b < B; b++) {
    const radius = [0.01, 0.2, 1][b % 3] * (0.5 + r());
    for (let j = 0; j < n; j++) {
      const c = 2 * r() - 1;
      lower[b * n + j] = c - radius;
      upper[b * n + j] = c + radius;
    }
  }
  return { lower, upper };
}

export interface SplitClamps {
  /** Per ReLU layer (`layers`' order) B·w clamps of its pre-activation (0 on split neurons, ∓∞ elsewhere). */
  readonly clamps: { lower: Float64Array; upper: Float64Array }[];
  /** Per box the point the splits were read from: it lies in the box's subdomain. */
  readonly anchors: Float64Array[];
}

/**
 * Split clamps consistent with a random point x0_b of each box: on ~30% of the neurons, the pre-activation ≥ 0 where
 * it is ≥ 0 at x0_b, else ≤ 0 (so x0_b lies in the subdomain and every bound must hold there).
 */
export function splitClamps(
  net: Network,
  m: NetworkMatrices,
  layers: readonly number[],
  lower: Float64Array,
  upper: Float64Array,
  B: number,
  r: () => number,
): SplitClamps {
  const n = lower.length / B;
  const clamps = layers.map((id) => {
    const w = sizeOf(net.layers[id].shape);
    return { lower: new Float64Array(B * w).fill(-Infinity), upper: new Float64Array(B * w).fill(Infinity) };
  });
  const anchors: Float64Array[] = [];
  for (let b = 0; b < B; b++) {
    const x0 = Float64Array.from(
      { length: n },
      (_, j) => lower[b * n + j] + r() * (upper[b * n + j] - lower[b * n + j]),
    );
    anchors.push(x0);
    const t = trace(net, x0, { matrices: m });
    layers.forEach((id, li) => {
      const u = t.values[(net.layers[id] as { input: number }).input];
      for (let j = 0; j < u.length; j++)
        if (r() < 0.3) {
          if (u[j] >= 0) clamps[li].lower[b * u.length + j] = 0;
          else clamps[li].upper[b * u.length + j] = 0;
        }
    });
  }
  return { clamps, anchors };
}

/**
 * Clamps of each max-pool layer's input (BoundsAsk.poolClamps, as branch and bound's max-pool splits give them)
 * consistent with the anchors: on ~30% of the inputs, x ≥ t or x ≤ t with t between the anchor's value and a random
 * distance (up to 0.5) beyond it (0 on a tenth of them: the anchor sits on the clamp).
 */
export function poolClamps(
  net: Network,
  m: NetworkMatrices,
  pools: readonly number[],
  anchors: readonly Float64Array[],
  r: () => number,
): { lower: Float64Array; upper: Float64Array }[] {
  const B = anchors.length;
  const clamps = pools.map((id) => {
    const w = sizeOf(net.layers[(net.layers[id] as { input: number }).input].shape);
    return { lower: new Float64Array(B * w).fill(-Infinity), upper: new Float64Array(B * w).fill(Infinity) };
  });
  anchors.forEach((x0, b) => {
    const t = trace(net, x0, { matrices: m });
    pools.forEach((id, pi) => {
      const u = t.values[(net.layers[id] as { input: number }).input];
      for (let j = 0; j < u.length; j++)
        if (r() < 0.3) {
          const d = r() < 0.1 ? 0 : 0.5 * r();
          if (r() < 0.5) clamps[pi].lower[b * u.length + j] = u[j] - d;
          else clamps[pi].upper[b * u.length + j] = u[j] + d;
        }
    });
  });
  return clamps;
}

/** Whether the traced point satisfies box b's clamps (always, without clamps). */
export function inSubdomain(
  net: Network,
  layers: readonly number[],
  clamps: SplitClamps["clamps"] | undefined,
  b: number,
  t: Trace,
  pools: readonly number[] = [],
  pooled?: SplitClamps["clamps"],
): boolean {
  const holds = (ids: readonly number[], c: SplitClamps["clamps"] | undefined) =>
    !c ||
    ids.every((id, li) => {
      const u = t.values[(net.layers[id] as { input: number }).input];
      return u.every((v, j) => v >= c[li].lower[b * u.length + j] && v <= c[li].upper[b * u.length + j]);
    });
  return holds(layers, clamps) && holds(pools, pooled);
}

/** Box [lo, hi]'s two extreme corners, its centre and `random` uniform points. */
export function samplePoints(lo: Float64Array, hi: Float64Array, r: () => number, random = 12): Float64Array[] {
  const points: Float64Array[] = [Float64Array.from(lo), Float64Array.from(hi), lo.map((v, j) => (v + hi[j]) / 2)];
  for (let p = 0; p < random; p++) points.push(lo.map((v, j) => v + r() * (hi[j] - v)));
  return points;
}
