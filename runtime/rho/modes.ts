// `robustc rho --mode`: beyond the paper's rho_hat (restrict.ts), per point an interval lower ≤ rho ≤ upper, one
// table entry per mode (MODES):
//   restrict: the paper's rho_hat alone (upper = rho_hat, no lower);
//   exact:    walking, the certified lower bound, then the big-M MILPs of exact.ts (lower = their proven bound,
//             upper = the best checked example);
//   bounds:   a certified lower bound (lower.ts), upper = rho_hat;
//   walk:     region walking from rho_hat's optimum (walk.ts), upper = the best checked example, no lower.
// Every mode starts from the restricted LP (rho ≤ rho_hat: its radius bounds the others' boxes).

import { rankLabels, trace, type Trace } from "../../compiler/index.js";
import { exactRho } from "./exact.js";
import { certifiedLower, DEFAULT_LOWER } from "./lower.js";
import { rhoForPoint } from "./restrict.js";
import { linf, type Checked, type PointResult, type RhoContext } from "./types.js";
import { DEFAULT_WALK, walkRegions } from "./walk.js";

export const RHO_MODES = ["restrict", "exact", "bounds", "walk"] as const;
export type RhoMode = (typeof RHO_MODES)[number];

/** What every mode starts from: the restricted LP's result at x* and its checked example (model units). */
interface ModeStart {
  readonly ctx: RhoContext;
  readonly xStar: Float64Array;
  readonly star: Trace;
  readonly predicted: number;
  readonly target: number;
  readonly start: Checked | null;
  /** rho_hat in model units (∞ when the restriction found nothing). */
  readonly radius: number;
  readonly timeLimit: number;
  /** The input box in model units. */
  readonly box: { readonly lo: number; readonly hi: number };
  /** The point's result with the bracket: best example (upper), proven lower bound (model units). */
  readonly finish: (best: Checked | null, lower: number | null, optimal: boolean | null, message?: string) => PointResult;
}

const MODES: Record<RhoMode, (s: ModeStart) => Promise<PointResult>> = {
  restrict: async (s) => s.finish(s.start, null, null),
  walk: async (s) => {
    const w = await walkRegions(s.ctx, s.star, s.xStar, s.target, s.predicted, s.start, { ...DEFAULT_WALK, timeLimit: s.timeLimit });
    return s.finish(w.best, null, null, `walk: ${w.steps} steps, ${w.regions} regions`);
  },
  bounds: async (s) => {
    const b = await certifiedLower(s.ctx.net, s.ctx.matrices, s.xStar, s.predicted, s.radius, s.box, { ...DEFAULT_LOWER, timeLimit: s.timeLimit });
    return s.finish(s.start, b.lower, null, `bounds: ${b.lps} relaxation LPs`);
  },
  exact: async (s) => {
    // Walking first (a quarter of the time at most) shrinks the radius, hence the box, the bounds and the
    // binaries; the certified lower bound next (a quarter) gives every MILP t ≥ it; the MILPs get the rest.
    const t0 = performance.now();
    const w = await walkRegions(s.ctx, s.star, s.xStar, s.target, s.predicted, s.start, { ...DEFAULT_WALK, timeLimit: s.timeLimit / 4 });
    const from = w.best ?? s.start;
    const b = await certifiedLower(s.ctx.net, s.ctx.matrices, s.xStar, s.predicted, from ? from.dist : Infinity, s.box, { ...DEFAULT_LOWER, timeLimit: s.timeLimit / 4 });
    if (b.lower === Infinity) return s.finish(null, Infinity, true, "exact: the relaxation proves no input of the box has another label");
    const e = await exactRho(s.ctx, s.star, s.xStar, s.predicted, from ? from.dist : Infinity, from,
      { timeLimit: s.timeLimit - (performance.now() - t0) / 1000, tighten: true, tMin: b.lower });
    const px = s.ctx.pixelScale;
    return s.finish(e.best, Math.max(e.lower, b.lower), e.optimal, `exact: ${e.milps} MILPs (${e.pruned} labels excluded by the relaxation), ${e.binaries} binaries, bounds ${e.boundSeconds.toFixed(2)} s, walk ${w.seconds.toFixed(2)} s, certified lower ${(b.lower * px).toFixed(3)} in ${b.seconds.toFixed(2)} s${e.optimal ? "" : ", time limit reached"}`);
  },
};

/** rho for one point in a mode; `restrict` is exactly rhoForPoint's answer with the interval fields added. */
export async function rhoForPointMode(ctx: RhoContext, mode: RhoMode, index: number, xStar: Float64Array, label: number | null): Promise<PointResult> {
  const t0 = performance.now();
  const r = await rhoForPoint(ctx, index, xStar, label);
  const px = ctx.pixelScale;
  const rhoHat = r.status === "adversarial" ? r.rho! : r.status === "no-adversarial-in-region" ? Infinity : null;
  if (r.status === "misclassified" || (r.status === "error" && r.target === null)) {
    // Nothing to start from: the restricted LP's answer as it is.
    return { ...r, mode, lower: null, upper: rhoHat, gap: null, optimal: null };
  }
  const star = trace(ctx.net, xStar);
  const start: Checked | null = r.status === "adversarial" && r.example ? { example: r.example, dist: linf(r.example, xStar), label: r.target!, lps: 0 } : null;
  const finish = (best: Checked | null, lower: number | null, optimal: boolean | null, message?: string): PointResult => {
    const upper = best ? best.dist * px : rhoHat === null ? null : rhoHat;
    const lo = lower === null ? null : lower * px;
    return {
      ...r, mode, seconds: (performance.now() - t0) / 1000,
      ...(best ? { rho: best.dist * px, status: "adversarial" as const, example: best.example, target: best.label } : {}),
      lower: lo, upper, optimal, gap: lo !== null && upper !== null && Number.isFinite(upper) ? Math.max(0, upper - lo) : null,
      ...(message ? { message } : {}),
    };
  };
  return MODES[mode]({
    ctx, xStar, star, predicted: r.predicted, target: r.target ?? rankLabels(star.logits)[1], start,
    radius: start ? start.dist : Infinity, timeLimit: Math.max(1, (ctx.lazy?.timeLimit ?? 60) - r.seconds),
    box: { lo: ctx.pixelMin / px, hi: ctx.pixelMax / px }, finish,
  });
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
