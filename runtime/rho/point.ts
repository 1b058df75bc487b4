// One point, whatever the algorithm: the seed's preamble once (point/seed.ts), then the paper's LP in a mode
// (modes.ts: the bracket by default, restrict for rho_hat alone) or a baseline attack (baselines.ts). The one
// entry the run layer (local runner, worker threads, queue workers) calls per point.

import type { LazyOptions } from "../lazy/lazy-loop.js";
import type { PointContext } from "../point/context.js";
import { openSeed } from "../point/seed.js";
import { baselineForSeed } from "./baselines.js";
import { marginExample } from "./margin-example.js";
import { modeForSeed } from "./modes.js";
import { refusedPoint, type PointResult, type RhoMode } from "./result.js";

/** --algorithm: the paper's LP (with --mode) or a baseline attack. */
export const ALGORITHMS = ["lp", "lbfgsb", "fgsm", "pgd"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** What a point's answer depends on besides the point (plain data: it crosses thread boundaries). */
export interface PointPlan {
  readonly algorithm: Algorithm;
  /** The lp algorithm's mode; absent: restrict, the paper's rho_hat alone. */
  readonly mode?: RhoMode;
  /** eps in pixels: FGSM's step, and the radius below which the bracket's rho_hat is exact (R = max(upper, eps)). */
  readonly eps: number;
  /** Confidence margin of the examples (PointContext.margin); with the bracket, the margin example's (augment). */
  readonly margin?: number;
  readonly lazy: LazyOptions;
}

/** One point's answer: its index, model input x* and true label (if known). */
export async function solvePoint(
  ctx: PointContext,
  plan: PointPlan,
  index: number,
  xStar: Float64Array,
  label: number | null,
): Promise<PointResult> {
  const mode = plan.algorithm === "lp" ? (plan.mode ?? "restrict") : undefined;
  const s = await openSeed(ctx, index, xStar, label);
  if ("refusal" in s) return refusedPoint(s.refusal, mode === "restrict" ? undefined : mode);
  if (plan.algorithm !== "lp") return baselineForSeed(ctx, plan.algorithm, plan.eps, s.seed);
  // A bracket with a margin (augment --algorithm bracket): the bracket as measured, then the paper's LP with
  // the margin in the region of its example (margin-example.ts).
  if (mode === "bracket" && plan.margin !== undefined) {
    const { margin, ...plain } = ctx;
    const p = await modeForSeed(plain, "bracket", s.seed, plan.eps);
    return marginExample(ctx, p, s.seed, margin ?? plan.margin, Math.max(1, plan.lazy.timeLimit / 2));
  }
  return modeForSeed(ctx, mode!, s.seed, plan.eps);
}
