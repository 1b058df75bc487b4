// The per-point algorithms' shared vocabulary: a point's result, the context every algorithm runs in, the
// L∞ distance, a checked example, onnxruntime's label of it, and the float32 margin ladder. Every rho
// algorithm (restrict, walk, lower, exact, the attacks) and every report reads these.

import { trace, type Network, type NetworkMatrices } from "../../compiler/index.js";
import { argmax, type Evaluator } from "../evaluator/types.js";
import type { LazyOptions } from "../lazy/lazy-loop.js";

/**
 * `not-found`: a baseline attack (or every search of the bracket) found no checked example (the LP's answer
 * is `no-adversarial-in-region`). The bracket's (every --mode but restrict): `exact` (upper − lower ≤
 * exactTolerance(scale), or lower = ∞: no input of the box has another label), `bracketed` (a checked
 * example and a certified lower bound further apart). --mode certify's (the question "is rho > eps?"):
 * `verified` (no input within eps of x* has another label, proved), `falsified` (a checked example within
 * eps), `unknown` (neither within the time limit).
 */
export type PointStatus =
  | "adversarial"
  | "no-adversarial-in-region"
  | "not-found"
  | "misclassified"
  | "timeout"
  | "error"
  | "exact"
  | "bracketed"
  | "verified"
  | "falsified"
  | "unknown";

/** The rho modes (rho/modes.ts). bracket is the default; restrict is the paper's rho_hat alone. */
export type RhoMode = "bracket" | "restrict" | "exact" | "milp" | "bounds" | "walk" | "certify";

/** upper − lower at or below this many pixels of the 0–255 scale: the bracket is closed (status exact). */
export const EXACT_TOLERANCE = 1e-3;

/** EXACT_TOLERANCE in the units of data on the 0–`scale` scale (the same fraction of the input range). */
export const exactTolerance = (scale: number): number => (EXACT_TOLERANCE * scale) / 255;

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
  /**
   * Set by every mode but restrict (rho/modes.ts; the bracket by default): lower ≤ rho ≤ upper in pixels
   * (lower: certified, 0 where the mode seeks no certificate (walk); upper: the distance of the checked
   * example, which `rho`, `example` and `target` then describe, null without one; both null on a
   * misclassified or error point), gap = upper − lower, optimal: whether the exact (or milp) mode closed
   * the bracket. Absent with --mode restrict and the baseline attacks.
   */
  readonly mode?: RhoMode;
  readonly lower?: number | null;
  readonly upper?: number | null;
  readonly gap?: number | null;
  readonly optimal?: boolean | null;
  /** The paper's rho_hat in pixels beside the bracket: ∞ when x*'s region holds no example; null when not computed or failed. */
  readonly rhoHat?: number | null;
  /** rho_hat was sought inside the ball of this radius (data units) and lies beyond it (rho_hat > R); null otherwise. */
  readonly rhoHatAbove?: number | null;
  /** Seconds per stage (attack, walk, restrict, forward, lower, bab, milp) that ran. */
  readonly stages?: Readonly<Record<string, number>>;
  /** Branch-and-bound subdomains bounded (mode exact). */
  readonly nodes?: number;
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

/** The radius (model units) at which the L∞ ball around x* covers the whole input box [lo, hi]. */
export const fullRadius = (xStar: ArrayLike<number>, lo: number, hi: number): number => {
  let r = 0;
  for (let i = 0; i < xStar.length; i++) r = Math.max(r, xStar[i] - lo, hi - xStar[i]);
  return r;
};

/** An example that onnxruntime (float32) confirmed: its values, its L∞ distance from x* and its label (model units). */
export interface Checked {
  readonly example: Float32Array;
  readonly dist: number;
  readonly label: number;
  readonly lps: number;
  /** y_label − max_{l ≠ label} y_l in onnxruntime's float32 pass and in the float64 reference (both > 0). */
  readonly margin32?: number;
  readonly margin64?: number;
}

/** The label that wins strictly (its logit above every other), or null on a tie for the maximum. */
export function strictWinner(y: ArrayLike<number>): { label: number; margin: number } | null {
  const label = argmax(y);
  let second = -Infinity;
  for (let i = 0; i < y.length; i++) if (i !== label) second = Math.max(second, y[i]);
  const margin = y[label] - second;
  return margin > 0 ? { label, margin } : null;
}

/**
 * The one rule that makes an example count (every example any algorithm reports passes it): some label other
 * than `avoid` wins strictly — its logit above every other — both in onnxruntime's float32 forward pass and
 * in the float64 reference evaluator (compiler/analysis/trace.ts) on the same float32 values, and both agree
 * on that label. A float32 tie won by index order, or a float32 margin that exact arithmetic reverses, does
 * not count. Null: the example does not count.
 */
export async function checkExample(
  ctx: RhoContext,
  example: Float32Array,
  xStar: ArrayLike<number>,
  avoid: number,
  lps = 0,
): Promise<Checked | null> {
  const x = Float64Array.from(example);
  const [y] = await ctx.ort.logits([x]);
  const w32 = strictWinner(y);
  if (!w32 || w32.label === avoid) return null;
  const w64 = strictWinner(trace(ctx.net, x, { matrices: ctx.matrices }).logits);
  if (!w64 || w64.label !== w32.label) return null;
  return { example, dist: linf(example, xStar), label: w32.label, lps, margin32: w32.margin, margin64: w64.margin };
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
