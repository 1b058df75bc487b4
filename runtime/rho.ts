// rho_hat for one seed point (the paper's §4): predicted label l*, target = second most probable, the
// restricted LP solved by the lazy loop, the optimiser checked by onnxruntime-node in float32. Only a
// checked example is ever reported as adversarial.
//
// Float32 rule: the LP's optimiser lies on the decision boundary (y_target = y_other), where float32
// rounding can tip the argmax back. When the check fails, the LP is re-solved with the margin
// alpha_k = 1e-6 · (1 + max|logit(x*)|) · 10^k, k = 0, 1, 2, 3 (y_target ≥ y_l' + alpha_k), and the first
// checked optimiser is reported; if none passes, the point is an `error` with the reason.

import { rankLabels } from "../compiler/passes/target-label.js";
import { argmax, type Evaluator } from "./evaluator/types.js";
import { trace } from "./evaluator/reference.js";
import { DEFAULT_LAZY, solveLazy, type LazyOptions } from "./lazy-loop.js";
import { Region, type NetworkMatrices } from "./region.js";
import type { Network } from "../compiler/ir/network.js";

/** `not-found`: a baseline attack found no checked example (the LP's answer is `no-adversarial-in-region`). */
export type PointStatus = "adversarial" | "no-adversarial-in-region" | "not-found" | "misclassified" | "timeout" | "error";

export interface PointResult {
  readonly index: number;
  readonly label: number | null;
  readonly predicted: number;
  readonly target: number | null;
  /** rho_hat in pixels: the L∞ distance of the checked adversarial example; Infinity when none in the region. */
  readonly rho: number | null;
  readonly status: PointStatus;
  /** The LP optimum in pixels (an upper bound on rho; equals rho up to float32 rounding of the example). */
  readonly lpObjective: number | null;
  /** y_target − max_{l ≠ target} y_l of the example in onnxruntime's float32 forward pass (> 0 or a tie won). */
  readonly checkMargin: number | null;
  /** The C_out margin alpha the reported LP used (0 unless the float32 rule raised it). */
  readonly alpha: number;
  readonly iterations: number;
  readonly rows: number;
  readonly rowsAdded: number;
  /** Largest violation of a ReLU-sign / max-pool row by the LP's optimiser (model units). */
  readonly primalInfeasibility: number | null;
  readonly solverSeconds: number;
  readonly seconds: number;
  readonly message?: string;
  /** The adversarial example in model units (float32 values), when status is adversarial. */
  readonly example?: Float32Array;
  /** Set by `--mode` (rho-modes.ts): lower ≤ rho ≤ upper in pixels (null: that side unknown), gap = upper − lower,
   *  optimal: whether the exact mode's MILPs all finished. Absent on the default path. */
  readonly mode?: "restrict" | "exact" | "bounds" | "walk";
  readonly lower?: number | null;
  readonly upper?: number | null;
  readonly gap?: number | null;
  readonly optimal?: boolean | null;
}

export interface RhoContext {
  readonly net: Network;
  readonly matrices: NetworkMatrices;
  readonly ort: Evaluator;
  readonly pixelScale: number;
  readonly pixelMin: number;
  readonly pixelMax: number;
  readonly lazy?: LazyOptions;
  /** Confidence margin alpha (model units) every example must have: y_target ≥ y_l' + alpha (fine-tuning, §5); 0 by default, L-BFGS-B: 0.15. */
  readonly margin?: number;
}

/** ‖a − b‖∞: the distance every rho in this project is measured in. */
export const linf = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

export async function rhoForPoint(ctx: RhoContext, index: number, xStar: Float64Array, label: number | null): Promise<PointResult> {
  const t0 = performance.now();
  const base = { index, label, lpObjective: null, checkMargin: null, alpha: 0, iterations: 0, rows: 0, rowsAdded: 0, primalInfeasibility: null, solverSeconds: 0 };
  const [yStar] = await ctx.ort.logits([xStar]);
  const predicted = argmax(yStar);
  const elapsed = () => (performance.now() - t0) / 1000;
  if (label !== null && predicted !== label) {
    return { ...base, predicted, target: null, rho: null, status: "misclassified", seconds: elapsed() };
  }
  const star = trace(ctx.net, xStar);
  if (argmax(star.logits) !== predicted) {
    return { ...base, predicted, target: null, rho: null, status: "error", seconds: elapsed(), message: "the float64 reference and onnxruntime (float32) disagree on the label at x* (a near-tie)" };
  }
  const target = rankLabels(star.logits)[1];
  const region = new Region(ctx.net, ctx.matrices, star);
  const scale = 1 + Math.max(...Array.from(star.logits, Math.abs));
  let iterations = 0, rowsAdded = 0, solverSeconds = 0;
  const lazy = ctx.lazy ?? DEFAULT_LAZY;
  const failures: string[] = [];
  for (let k = -1; k <= 3; k++) {
    const alpha = (ctx.margin ?? 0) + (k < 0 ? 0 : 1e-6 * scale * 10 ** k);
    const remaining = lazy.timeLimit - elapsed();
    const r = await solveLazy({ region, xStar, target, margin: alpha, lower: ctx.pixelMin / ctx.pixelScale, upper: ctx.pixelMax / ctx.pixelScale },
      { ...lazy, timeLimit: Math.max(0.001, remaining) });
    iterations += r.iterations; rowsAdded += r.rowsAdded; solverSeconds += r.solverSeconds;
    const common = { ...base, predicted, target, alpha, iterations, rowsAdded, rows: r.rows, solverSeconds, primalInfeasibility: r.status === "optimal" ? r.poolViolation : null };
    if (r.status === "infeasible") {
      // With alpha > 0 an infeasible LP only says the boundary example did not survive float32 rounding.
      if (k < 0) return { ...common, rho: Infinity, status: "no-adversarial-in-region", seconds: elapsed() };
      failures.push(`alpha ${alpha.toExponential(1)}: LP infeasible`);
      break;
    }
    if (r.status !== "optimal") return { ...common, rho: null, status: r.status === "timeout" ? "timeout" : "error", seconds: elapsed(), message: r.message };
    const example = Float32Array.from(r.x!);
    const [y] = await ctx.ort.logits([Float64Array.from(example)]);
    const others = Array.from(y).filter((_, i) => i !== target);
    const checkMargin = y[target] - Math.max(...others);
    if (argmax(y) === target) {
      return {
        ...common, rho: linf(example, xStar) * ctx.pixelScale, lpObjective: r.t! * ctx.pixelScale, checkMargin,
        status: "adversarial", seconds: elapsed(), example,
      };
    }
    failures.push(`alpha ${alpha.toExponential(1)}: float32 argmax ${argmax(y)} (margin ${checkMargin.toExponential(2)})`);
  }
  return {
    ...base, predicted, target, rho: null, status: "error", iterations, rowsAdded, solverSeconds, seconds: elapsed(),
    message: `no LP optimiser passed the onnxruntime float32 check (${failures.join("; ")})`,
  };
}
