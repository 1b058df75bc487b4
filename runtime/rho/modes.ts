// `robustc rho --mode`: beyond the paper's rho_hat (restrict, rho.ts), per point an interval lower ≤ rho ≤ upper:
//   exact:  the big-M MILPs of exact-rho.ts (lower = their proven bound, upper = the best checked example);
//   bounds: a certified lower bound by the relaxation (lower-bound.ts), upper = rho_hat;
//   walk:   region walking from rho_hat's optimum (walk.ts), upper = the best checked example, no lower.
// Every mode starts from the restricted LP (rho ≤ rho_hat: its radius bounds the others' boxes).

import { rhoForPoint } from "./restrict.js";
import { rankLabels, trace } from "../../compiler/index.js";
import { exactRho } from "./exact.js";
import { certifiedLower, DEFAULT_LOWER } from "./lower.js";
import { DEFAULT_WALK, walkRegions } from "./walk.js";
import { linf, type Checked, type PointResult, type RhoContext } from "./types.js";

export const RHO_MODES = ["restrict", "exact", "bounds", "walk"] as const;
export type RhoMode = (typeof RHO_MODES)[number];

/** rho for one point in a mode; `restrict` is exactly rhoForPoint (with the interval fields added). */
export async function rhoForPointMode(ctx: RhoContext, mode: RhoMode, index: number, xStar: Float64Array, label: number | null): Promise<PointResult> {
  const t0 = performance.now();
  const r = await rhoForPoint(ctx, index, xStar, label);
  const px = ctx.pixelScale;
  const rhoHat = r.status === "adversarial" ? r.rho! : r.status === "no-adversarial-in-region" ? Infinity : null;
  if (mode === "restrict" || r.status === "misclassified" || (r.status === "error" && r.target === null)) {
    return { ...r, mode, lower: null, upper: rhoHat, gap: null, optimal: null };
  }
  const timeLimit = Math.max(1, (ctx.lazy?.timeLimit ?? 60) - r.seconds);
  const star = trace(ctx.net, xStar);
  const predicted = r.predicted;
  const start: Checked | null = r.status === "adversarial" && r.example ? { example: r.example, dist: linf(r.example, xStar), label: r.target!, lps: 0 } : null;
  const radius = start ? start.dist : Infinity;
  const elapsed = () => (performance.now() - t0) / 1000;
  const finish = (best: Checked | null, lower: number | null, optimal: boolean | null, message?: string): PointResult => {
    const upper = best ? best.dist * px : rhoHat === null ? null : rhoHat;
    const lo = lower === null ? null : lower * px;
    return {
      ...r, mode, seconds: elapsed(),
      ...(best ? { rho: best.dist * px, status: "adversarial" as const, example: best.example, target: best.label } : {}),
      lower: lo, upper, optimal, gap: lo !== null && upper !== null && Number.isFinite(upper) ? Math.max(0, upper - lo) : null,
      ...(message ? { message } : {}),
    };
  };
  if (mode === "walk") {
    const w = await walkRegions(ctx, star, xStar, r.target ?? rankLabels(star.logits)[1], predicted, start, { ...DEFAULT_WALK, timeLimit });
    return finish(w.best, null, null, `walk: ${w.steps} steps, ${w.regions} regions`);
  }
  if (mode === "bounds") {
    const box = { lo: ctx.pixelMin / px, hi: ctx.pixelMax / px };
    const b = await certifiedLower(ctx.net, ctx.matrices, xStar, predicted, radius, box, { ...DEFAULT_LOWER, timeLimit });
    return finish(start, b.lower, null, `bounds: ${b.lps} relaxation LPs`);
  }
  // Walking first (a quarter of the time at most) shrinks the radius, hence the box, the bounds and the
  // binaries; the certified lower bound next (a quarter) gives every MILP t ≥ it; the MILPs get the rest.
  const w = await walkRegions(ctx, star, xStar, r.target ?? rankLabels(star.logits)[1], predicted, start, { ...DEFAULT_WALK, timeLimit: timeLimit / 4 });
  const from = w.best ?? start;
  const box = { lo: ctx.pixelMin / px, hi: ctx.pixelMax / px };
  const b = await certifiedLower(ctx.net, ctx.matrices, xStar, predicted, from ? from.dist : Infinity, box, { ...DEFAULT_LOWER, timeLimit: timeLimit / 4 });
  if (b.lower === Infinity) return finish(null, Infinity, true, "exact: the relaxation proves no input of the box has another label");
  const e = await exactRho(ctx, star, xStar, predicted, from ? from.dist : Infinity, from,
    { timeLimit: timeLimit - (performance.now() - t0) / 1000 + r.seconds, tighten: true, tMin: b.lower });
  return finish(e.best, Math.max(e.lower, b.lower), e.optimal, `exact: ${e.milps} MILPs (${e.pruned} labels excluded by the relaxation), ${e.binaries} binaries, bounds ${e.boundSeconds.toFixed(2)} s, walk ${w.seconds.toFixed(2)} s, certified lower ${(b.lower * px).toFixed(3)} in ${b.seconds.toFixed(2)} s${e.optimal ? "" : ", time limit reached"}`);
}

/**
 * phi(eps) as an interval from per-point bounds: a point with upper ≤ eps surely has rho ≤ eps (phi_lower);
 * one with lower > eps surely has rho > eps, and every other one may (phi_upper). Misclassified points are
 * excluded, as in the estimators; a point without a lower bound counts as possibly within eps.
 */
export function frequencyInterval(points: readonly PointResult[], eps: number): { lower: number | null; upper: number | null; within: number; possible: number; correct: number } {
  const X = points.filter((p) => p.status !== "misclassified");
  const within = X.filter((p) => p.status === "adversarial" && p.rho !== null && p.rho <= eps).length;
  const possible = X.filter((p) => p.lower === null || p.lower === undefined || p.lower <= eps).length;
  const n = X.length;
  return { lower: n > 0 ? within / n : null, upper: n > 0 ? possible / n : null, within, possible, correct: n };
}
