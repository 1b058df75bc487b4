// The per-point algorithms' shared vocabulary: a point's result, the context every algorithm runs in, the
// L∞ distance, a checked example, onnxruntime's label of it, and the float32 margin ladder. Every rho
// algorithm (restrict, walk, lower, exact, the attacks) and every report reads these.

import { type Network, type NetworkMatrices } from "../../compiler/index.js";
import { argmax, type Evaluator } from "../evaluator/types.js";
import type { LazyOptions } from "../lazy/lazy-loop.js";

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
  /** Set by `--mode` (rho/modes.ts): lower ≤ rho ≤ upper in pixels (null: that side unknown), gap = upper − lower,
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

/** An example that onnxruntime (float32) confirmed: its values, its L∞ distance from x* and its label (model units). */
export interface Checked {
  readonly example: Float32Array;
  readonly dist: number;
  readonly label: number;
  readonly lps: number;
}

/** onnxruntime's label of a float32 example (the only check that makes an example count). */
export async function ortLabel(ctx: RhoContext, example: Float32Array): Promise<number> {
  const [y] = await ctx.ort.logits([Float64Array.from(example)]);
  return argmax(y);
}

/**
 * The float32 rule's margins, tried in order: an LP optimiser lies on the decision boundary (y_target =
 * y_other), where float32 rounding can tip the argmax back; each re-solve demands y_target ≥ y_l' + alpha_k,
 * alpha = ctx.margin + 0, then + 1e-6·(1 + max|logit(x*)|)·10^k for k = 0..3. The first entry is the plain LP.
 */
export function marginLadder(ctx: Pick<RhoContext, "margin">, logits: ArrayLike<number>): number[] {
  const scale = logitScale(logits);
  return [-1, 0, 1, 2, 3].map((k) => (ctx.margin ?? 0) + (k < 0 ? 0 : 1e-6 * scale * 10 ** k));
}

/** 1 + max |logit|: the scale of the float32 rule's margins and of tolerances on region rows. */
export const logitScale = (logits: ArrayLike<number>): number => 1 + Math.max(...Array.from(logits, Math.abs));
