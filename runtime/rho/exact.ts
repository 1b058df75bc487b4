// Exact rho by branch and bound (runtime/bab/): decisions "is there an input within eps of x* where another
// label scores at least as high?" at eps bisecting [lower, upper], until upper − lower ≤ the tolerance asked
// (PointContext.tolerance: a fraction of the current upper, or with 0 the absolute 1e-3 px). unsat
// at eps proves rho ≥ eps; sat gives a checked example (point/check.ts), moved toward x* along its ray, so rho
// ≤ its distance. (Why not ask just below upper first: docs/results/exact.md.)
// Each decision: the LP branch and bound, then the batched one for a proof (bab/decide.ts).

import { radiusBox, sizeOf, trace } from "../../compiler/index.js";
import { decideSpec } from "../bab/decide.js";
import { DEFAULT_BAB, type BabResult } from "../bab/search.js";
import type { Spec } from "../bab/spec.js";
import { checkExample, fullRadius, type Checked } from "../point/check.js";
import { type PointContext } from "../point/context.js";
import { allowedGap, exactTolerance, toleranceOf } from "./result.js";

export interface BabRhoResult {
  readonly lower: number;
  readonly best: Checked | null;
  readonly optimal: boolean;
  /** Decisions run, subdomains bounded and subdomain LPs over all of them. */
  readonly decisions: number;
  readonly nodes: number;
  readonly lps: number;
  readonly seconds: number;
}

/** The decision at eps as a VNN-LIB-like spec: the ball ∩ the pixel box, one disjunct y_l* − y_l ≤ 0 per label l. */
export function rhoSpec(ctx: PointContext, xStar: Float64Array, predicted: number, eps: number): Spec {
  const box = radiusBox(xStar, eps, ctx.pixelMin / ctx.pixelScale, ctx.pixelMax / ctx.pixelScale);
  const nOut = sizeOf(ctx.net.layers[ctx.net.output].shape);
  const disjuncts = Array.from({ length: nOut }, (_, l) => l)
    .filter((l) => l !== predicted)
    .map((l) => [
      {
        ys: Int32Array.of(predicted, l),
        yw: Float64Array.of(1, -1),
        xs: new Int32Array(0),
        xw: new Float64Array(0),
        c: 0,
      },
    ]);
  return { lower: box.lower, upper: box.upper, disjuncts };
}

/**
 * Is there an input within eps of x* (and in the pixel box) where another label ties or beats l*? Sat answers pass
 * checkExample. The LP branch and bound, then the batched one for a proof (bab/decide.ts).
 */
export function decideRho(
  ctx: PointContext,
  xStar: Float64Array,
  predicted: number,
  eps: number,
  deadline: number,
): Promise<BabResult<Checked>> {
  return decideSpec(
    ctx.engine,
    { net: ctx.net, matrices: ctx.matrices, refineWork: DEFAULT_BAB.refineWork },
    rhoSpec(ctx, xStar, predicted, eps),
    (x) => checkExample(ctx, Float32Array.from(x), xStar, predicted),
    { deadline, nodeLimit: DEFAULT_BAB.nodeLimit, nodeLp: DEFAULT_BAB.nodeLp },
  );
}

/**
 * The example moved toward x* along its ray x* + s·(x − x*) as far as the float64 trace keeps another label
 * ahead (bisection on s), then checked again; null when that point does not pass the check.
 */
async function shrink(ctx: PointContext, xStar: Float64Array, predicted: number, c: Checked): Promise<Checked | null> {
  const at = (s: number) => Float64Array.from(c.example, (v, i) => xStar[i] + s * (v - xStar[i]));
  const wins = (s: number) => {
    const y = trace(ctx.net, at(s), { matrices: ctx.matrices }).logits;
    return y.some((v, l) => l !== predicted && v > y[predicted]);
  };
  let lo = 0,
    hi = 1;
  for (let k = 0; k < 30 && hi - lo > 1e-6; k++) {
    const mid = (lo + hi) / 2;
    if (wins(mid)) hi = mid;
    else lo = mid;
  }
  if (hi >= 1) return null;
  // Slightly beyond the boundary, so that float32 rounding does not tip the point back.
  for (const s of [hi * (1 + 1e-4), hi * (1 + 1e-3)]) {
    if (s >= 1) break;
    const e = await checkExample(ctx, Float32Array.from(at(s)), xStar, predicted);
    if (e && e.dist < c.dist) return e;
  }
  return null;
}

/** `lower`: a proven lower bound (model units); `best`: the best checked example so far. Time in seconds. */
export async function babRho(
  ctx: PointContext,
  xStar: Float64Array,
  predicted: number,
  lower0: number,
  best0: Checked | null,
  timeLimit: number,
): Promise<BabRhoResult> {
  const t0 = performance.now(),
    end = t0 + timeLimit * 1000;
  let lower = lower0,
    best = best0,
    decisions = 0,
    nodes = 0,
    lps = 0;
  const full = fullRadius(xStar, ctx.pixelMin / ctx.pixelScale, ctx.pixelMax / ctx.pixelScale);
  const upper = () => (best ? best.dist : full);
  // The widest gap that closes the bracket (model units), as modes.ts decides status exact: relative to the
  // current upper (which falls as examples are found), or the absolute 1e-3 px with tolerance 0.
  const tolerance = toleranceOf(ctx),
    absolute = exactTolerance(ctx.pixelScale) / ctx.pixelScale;
  const tol = () => allowedGap(upper(), tolerance, absolute);
  // Where a decision ran out of time: later ones stay below it (nothing is known between it and upper).
  let cap = Infinity;
  while (upper() - lower > tol() && performance.now() < end) {
    const left = end - performance.now();
    const hi = Math.min(upper(), cap);
    let q = (lower + hi) / 2,
      share = 1 / 3;
    if (hi - lower <= tol() / 2) {
      // Nothing is left to learn below a decision that timed out: one last one just below upper, 0.9 of the
      // allowed gap below it (an unsat there proves lower = upper − 0.9 × tol(upper), which closes the bracket
      // under the same upper; a sat lowers upper), with all the time left.
      if (!Number.isFinite(cap)) break;
      cap = Infinity;
      q = Math.max(lower, upper() - 0.9 * tol());
      share = 1;
    }
    const r = await decideRho(ctx, xStar, predicted, q, performance.now() + left * share);
    decisions++;
    nodes += r.nodes;
    lps += r.lps;
    if (r.status === "unsat") lower = Math.max(lower, q);
    else if (r.status === "sat" && r.example) {
      const e = (await shrink(ctx, xStar, predicted, r.example)) ?? r.example;
      if (!best || e.dist < best.dist) best = e;
    } else cap = q;
  }
  // rho = ∞ cannot be proved this way; a lower bound above the best example cannot happen (it would be a bug).
  if (best && lower > best.dist)
    throw new Error(`internal: proven lower bound ${lower} above a checked example at ${best.dist}`);
  return {
    lower,
    best,
    optimal: best !== null && best.dist - lower <= tol(),
    decisions,
    nodes,
    lps,
    seconds: (performance.now() - t0) / 1000,
  };
}
