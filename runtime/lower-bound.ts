// A certified lower bound on rho: the largest eps (found by bisection) at which the triangle relaxation
// (relax.ts) on sound bounds of the box ‖x − x*‖∞ ≤ eps proves y_l* − y_l > 0 for every l ≠ l*. Each proof
// is one LP, min y_l* − y_l over the relaxation, whose value is taken from its row duals by weak duality
// (tighten-bounds.ts: dualBound), never from the solver's objective: a positive dual bound holds for every
// point of the relaxation, hence for every input in the box. The claim is about the network in exact
// arithmetic (float64 weights), as every bound here; onnxruntime's float32 pass can differ by rounding.

import type { Network } from "../compiler/ir/network.js";
import type { LayerBounds } from "../compiler/passes/bounds.js";
import { encode } from "../compiler/passes/encode.js";
import { relaxDisjuncts } from "../compiler/passes/relax.js";
import { dualBound } from "../compiler/passes/tighten-bounds.js";
import { toLpModel } from "../compiler/passes/to-lp-model.js";
import { radiusBox, soundBounds } from "./exact-rho.js";
import { openHighsLp } from "./solvers/highs-session.js";

export interface LowerOptions {
  /** Bisection steps (the bound is within hi / 2^steps of the largest provable eps). */
  readonly steps: number;
  readonly tighten: boolean;
  readonly timeLimit: number;
}

export const DEFAULT_LOWER: LowerOptions = { steps: 8, tighten: true, timeLimit: 60 };

/** Whether the relaxation on the box of radius eps proves that l* wins against every other label. */
export async function provesRobust(net: Network, xStar: Float64Array, predicted: number, eps: number,
  box: { lo: number; hi: number }, tighten: boolean, timeLimit: number): Promise<{ proved: boolean; lps: number }> {
  const bounds = await soundBounds(net, radiusBox(xStar, eps, box.lo, box.hi), tighten, timeLimit);
  const out = net.output, nOut = bounds[out].lower.length;
  // Interval bounds alone may already prove it: lower(y_l*) > upper(y_l) for all l.
  const others = Array.from({ length: nOut }, (_, l) => l).filter((l) => l !== predicted);
  const open = others.filter((l) => !(bounds[out].lower[predicted] > bounds[out].upper[l]));
  if (open.length === 0) return { proved: true, lps: 0 };
  const enc = encode(net, { inputLower: box.lo, inputUpper: box.hi });
  const lp = toLpModel(relaxDisjuncts(net, enc, bounds).problem, "lower", []);
  const session = await openHighsLp(lp, timeLimit);
  let lps = 0;
  try {
    const c = new Float64Array(lp.colLower.length);
    for (const l of open) {
      const a = enc.outputOffset + predicted, b = enc.outputOffset + l;
      const y = await session.minimize(a < b ? Int32Array.of(a, b) : Int32Array.of(b, a), a < b ? Float64Array.of(1, -1) : Float64Array.of(-1, 1));
      lps++;
      if (!y) return { proved: false, lps };
      c[a] = 1; c[b] = -1;
      const v = dualBound(lp, c, y);
      c[a] = 0; c[b] = 0;
      if (!(v > 0)) return { proved: false, lps };
    }
    return { proved: true, lps };
  } finally {
    session.close();
  }
}

/** Whether the relaxation on `bounds` proves y_predicted − y_l > 0 (one LP, the dual bound). */
export async function labelExcluded(net: Network, bounds: readonly LayerBounds[], predicted: number, l: number): Promise<boolean> {
  const out = net.output;
  if (bounds[out].lower[predicted] > bounds[out].upper[l]) return true;
  const enc = encode(net, { inputLower: -Infinity, inputUpper: Infinity });
  const lp = toLpModel(relaxDisjuncts(net, enc, bounds).problem, "exclude", []);
  const session = await openHighsLp(lp);
  try {
    const a = enc.outputOffset + predicted, b = enc.outputOffset + l;
    const y = await session.minimize(a < b ? Int32Array.of(a, b) : Int32Array.of(b, a), a < b ? Float64Array.of(1, -1) : Float64Array.of(-1, 1));
    if (!y) return false;
    const c = new Float64Array(lp.colLower.length);
    c[a] = 1; c[b] = -1;
    return dualBound(lp, c, y) > 0;
  } finally {
    session.close();
  }
}

/**
 * Bisection on eps in [0, hi] (model units): hi is rho_hat (rho ≤ rho_hat, nothing above it can be
 * proved) or, when rho_hat = ∞, the radius at which the box becomes the whole input box. Returns the
 * largest eps proved (0 when none: x* alone is trivially at distance 0).
 */
export async function certifiedLower(net: Network, xStar: Float64Array, predicted: number, hi: number,
  box: { lo: number; hi: number }, opts: LowerOptions = DEFAULT_LOWER): Promise<{ lower: number; lps: number; seconds: number }> {
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const full = xStar.reduce((a, v) => Math.max(a, v - box.lo, box.hi - v), 0);
  let top = Math.min(hi, full), proved = 0, lps = 0;
  // The whole box first when rho_hat = ∞ (a proof there says rho = ∞: no input has another label).
  if (!Number.isFinite(hi)) {
    const r = await provesRobust(net, xStar, predicted, full, box, opts.tighten, Math.max(0.1, left()));
    lps += r.lps;
    if (r.proved) return { lower: Infinity, lps, seconds: (performance.now() - t0) / 1000 };
  }
  for (let s = 0; s < opts.steps && left() > 0; s++) {
    const mid = (proved + top) / 2;
    const r = await provesRobust(net, xStar, predicted, mid, box, opts.tighten, Math.max(0.1, left()));
    lps += r.lps;
    if (r.proved) proved = mid; else top = mid;
  }
  return { lower: proved, lps, seconds: (performance.now() - t0) / 1000 };
}
