// The one "cannot happen on this box" test: proves g(x, y) = c + Σ yw·y[ys] + Σ xw·x[xs] > 0 for every input
// of a box (y the logits), for each of several g's — a label that cannot win (y_l* − y_l > 0), or a
// VNN-LIB atom that cannot hold. Cheapest first: interval bounds, back-substitution (every kind with a linear
// relaxation), then,
// when an LP oracle is given, the triangle relaxation's minimum taken from its duals (tighten.ts:
// dualBound), never from the solver's objective. Every comparison keeps a pad above the sums' rounding.

import type { LayerBounds } from "../ir/bounds.js";
import type { NetworkMatrices } from "../ir/matrices.js";
import type { Network } from "../ir/network.js";
import { compileNetwork } from "../passes/pipeline.js";
import { backsub, backsubApplies } from "../analysis/bounds/backsub.js";
import { dualBound, type OpenLp } from "./tighten.js";

/** g = c + Σ_k yw[k]·y[ys[k]] + Σ_k xw[k]·x[xs[k]]. */
export interface OutputLinear {
  readonly ys: ArrayLike<number>;
  readonly yw: ArrayLike<number>;
  readonly xs?: ArrayLike<number>;
  readonly xw?: ArrayLike<number>;
  readonly c: number;
}

/** y_a − y_b (label b cannot beat label a where it is positive). */
export const marginOf = (a: number, b: number): OutputLinear => ({ ys: [a, b], yw: [1, -1], c: 0 });

export interface ExcludeOptions {
  /** The LP relaxation as a last resort (HiGHS from the runtime); absent: bounds only. */
  readonly open?: OpenLp;
  readonly timeLimit?: number;
}

/** Σ xw·x over the box, lower end, with its magnitude (for the rounding pad). */
export function inputPart(g: OutputLinear, bounds: readonly LayerBounds[], input: number): { lo: number; mag: number } {
  let lo = 0,
    mag = 0;
  const b = bounds[input];
  const xs = g.xs ?? [],
    xw = g.xw ?? [];
  for (let k = 0; k < xs.length; k++) {
    const i = xs[k],
      w = xw[k];
    lo += Math.min(w * b.lower[i], w * b.upper[i]);
    mag += Math.abs(w) * Math.max(Math.abs(b.lower[i]), Math.abs(b.upper[i]));
  }
  return { lo, mag };
}

/** Whether bounds alone (intervals, then back-substitution) prove g > 0 on the box. */
export function boundsProve(
  net: Network,
  m: NetworkMatrices,
  bounds: readonly LayerBounds[],
  g: OutputLinear,
): boolean {
  return boundsProveAll(net, m, bounds, [g])[0];
}

/** boundsProve for several g's: one interval test each, then one back-substitution pass for the rest. */
export function boundsProveAll(
  net: Network,
  m: NetworkMatrices,
  bounds: readonly LayerBounds[],
  gs: readonly OutputLinear[],
): boolean[] {
  const out = bounds[net.output],
    input = net.layers.findIndex((l) => l.kind === "input");
  const xs = gs.map((g) => inputPart(g, bounds, input));
  const proved = gs.map((g, i) => {
    let lo = g.c + xs[i].lo,
      mag = Math.abs(g.c) + xs[i].mag;
    for (let k = 0; k < g.ys.length; k++) {
      const j = g.ys[k],
        w = g.yw[k];
      lo += Math.min(w * out.lower[j], w * out.upper[j]);
      mag += Math.abs(w) * Math.max(Math.abs(out.lower[j]), Math.abs(out.upper[j]));
    }
    return lo > 1e-9 * (1 + mag);
  });
  const open = gs.map((_, i) => i).filter((i) => !proved[i]);
  if (open.length === 0 || !backsubApplies(net)) return proved;
  // One row per open g over the logits: back-substitution handles them in one pass.
  const ny = out.lower.length,
    A = new Float64Array(open.length * ny);
  open.forEach((i, r) => {
    const g = gs[i];
    for (let k = 0; k < g.ys.length; k++) A[r * ny + g.ys[k]] += g.yw[k];
  });
  const b = backsub(net, m, bounds, net.output, A, new Float64Array(open.length), open.length, undefined, true);
  if (!b) return proved;
  open.forEach((i, r) => {
    const g = gs[i],
      v = b.lower[r] + xs[i].lo + g.c;
    proved[i] = v > 1e-9 * (1 + Math.abs(b.lower[r]) + xs[i].mag + Math.abs(g.c));
  });
  return proved;
}

/**
 * Whether every g is proved positive on the box that `bounds` hold on (bounds[input] is the box). Stops at
 * the first g it cannot prove; `lps` counts the relaxation LPs solved.
 */
export async function allPositive(
  net: Network,
  m: NetworkMatrices,
  bounds: readonly LayerBounds[],
  gs: readonly OutputLinear[],
  opts: ExcludeOptions = {},
): Promise<{ proved: boolean; lps: number }> {
  const byBounds = boundsProveAll(net, m, bounds, gs);
  const open = gs.filter((_, i) => !byBounds[i]);
  if (open.length === 0) return { proved: true, lps: 0 };
  if (!opts.open) return { proved: false, lps: 0 };
  const { lp, encoding: enc } = compileNetwork(net, {
    mode: "relax",
    bounds,
    inputLower: -Infinity,
    inputUpper: Infinity,
    name: "exclude",
  });
  const outCol = enc.outputOffset,
    inCol = enc.problem.vars[enc.layerVar[net.layers.findIndex((l) => l.kind === "input")]].offset;
  const session = await opts.open(lp, opts.timeLimit);
  let lps = 0;
  try {
    for (const g of open) {
      const c = new Float64Array(lp.colLower.length);
      for (let k = 0; k < g.ys.length; k++) c[outCol + g.ys[k]] += g.yw[k];
      const xs = g.xs ?? [],
        xw = g.xw ?? [];
      for (let k = 0; k < xs.length; k++) c[inCol + xs[k]] += xw[k];
      const cols = Int32Array.from(c.keys()).filter((j) => c[j] !== 0);
      const y = await session.minimize(
        cols,
        Float64Array.from(cols, (j) => c[j]),
      );
      lps++;
      if (!y) return { proved: false, lps };
      const v = dualBound(lp, c, y) + g.c;
      if (!(v > 1e-9 * Math.abs(g.c))) return { proved: false, lps };
    }
    return { proved: true, lps };
  } finally {
    session.close();
  }
}
