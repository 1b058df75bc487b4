// The per-point vocabulary every algorithm shares: the L∞ distance, a checked example and the one rule that
// makes an example count (checkExample), and the float32 margin ladder of LP optimisers.

import { trace } from "../../compiler/index.js";
import { argmax } from "../evaluator/types.js";
import type { PointContext } from "./context.js";

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
  readonly margin32: number;
  readonly margin64: number;
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
  ctx: PointContext,
  example: Float32Array,
  xStar: ArrayLike<number>,
  avoid: number,
  lps = 0,
): Promise<Checked | null> {
  return (await inspectExample(ctx, example, xStar, avoid, lps)).checked;
}

/** checkExample with onnxruntime's float32 logits of the example beside its verdict (a failure's reason). */
export async function inspectExample(
  ctx: PointContext,
  example: Float32Array,
  xStar: ArrayLike<number>,
  avoid: number,
  lps = 0,
): Promise<{ checked: Checked | null; logits32: Float64Array }> {
  const x = Float64Array.from(example);
  const [y] = await ctx.evaluator.logits([x]);
  const w32 = strictWinner(y);
  if (!w32 || w32.label === avoid) return { checked: null, logits32: y };
  const w64 = strictWinner(trace(ctx.net, x, { matrices: ctx.matrices }).logits);
  if (!w64 || w64.label !== w32.label) return { checked: null, logits32: y };
  const checked = {
    example,
    dist: linf(example, xStar),
    label: w32.label,
    lps,
    margin32: w32.margin,
    margin64: w64.margin,
  };
  return { checked, logits32: y };
}

/** y_label − max_{l ≠ label} y_l. */
export function marginOfLabel(y: ArrayLike<number>, label: number): number {
  let other = -Infinity;
  for (let i = 0; i < y.length; i++) if (i !== label) other = Math.max(other, y[i]);
  return y[label] - other;
}

/**
 * The float32 rule's margins, tried in order: an LP optimiser lies on the decision boundary (y_target =
 * y_other), where float32 rounding can tip the argmax back; each re-solve demands y_target ≥ y_l' + alpha_k,
 * alpha = ctx.margin + 0, then + 1e-6·(1 + max|logit(x*)|)·10^k for k = 0..3. The first entry is the plain LP.
 */
export function marginLadder(ctx: Pick<PointContext, "margin">, logits: ArrayLike<number>): number[] {
  const scale = logitScale(logits);
  return [-1, 0, 1, 2, 3].map((k) => (ctx.margin ?? 0) + (k < 0 ? 0 : 1e-6 * scale * 10 ** k));
}

/** 1 + max |logit|: the scale of the float32 rule's margins and of tolerances on region rows. */
export const logitScale = (logits: ArrayLike<number>): number => 1 + Math.max(...Array.from(logits, Math.abs));
