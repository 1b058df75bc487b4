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
 * The one rule that makes an example count (every example any algorithm reports passes it), applied to the
 * example in the form the reports save it (savedForm: the data's units as float32, read back): some label
 * other than `avoid` wins strictly — in onnxruntime's float32 pass by more than float32 rounding of the logits
 * can reverse (FLOAT32_MARGIN, relative to their size), and in the float64 reference on the values a float32
 * reader and a float64 reader of the saved file get — and all agree on that label. Null: it does not count.
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

/**
 * The smallest float32 margin an example's label must win by, relative to the size of the two logits compared:
 * 2^-22, two to four units in the last place of the larger — a margin another float32 implementation of the same model
 * (other summation orders) is unlikely to reverse. Relative, not absolute: on a network whose logits are small,
 * an absolute floor would hold examples further from the boundary than exact rho's closing tolerance.
 */
export const FLOAT32_MARGIN = 2 ** -22;

/**
 * An example as the reports save it (adversarial.npy: pixels = value × scale as float32) and as it is read
 * back: by a float32 reader (pixels / scale rounded to float32: robustc's own model input, the value it
 * reports) and by a float64 reader (pixels / scale in float64). Repeated until saving the float32 value gives
 * the same pixels again (one round almost always), so that what is checked is what is written.
 */
export function savedForm(example: Float32Array, scale: number): { model32: Float32Array; read64: Float64Array } {
  let model32 = example;
  for (let round = 0; round < 4; round++) {
    const px = Float32Array.from(model32, (v) => v * scale);
    const next = Float32Array.from(px, (p) => p / scale);
    if (next.every((v, i) => v === model32[i])) return { model32, read64: Float64Array.from(px, (p) => p / scale) };
    model32 = next;
  }
  const px = Float32Array.from(model32, (v) => v * scale);
  return { model32, read64: Float64Array.from(px, (p) => p / scale) };
}

/** checkExample with onnxruntime's float32 logits of the saved example beside its verdict (a failure's reason). */
export async function inspectExample(
  ctx: PointContext,
  candidate: Float32Array,
  xStar: ArrayLike<number>,
  avoid: number,
  lps = 0,
): Promise<{ checked: Checked | null; logits32: Float64Array }> {
  const { model32: example, read64 } = savedForm(candidate, ctx.pixelScale);
  const x = Float64Array.from(example);
  const [y] = await ctx.evaluator.logits([x]);
  const w32 = strictWinner(y);
  const refused = { checked: null, logits32: y };
  if (!w32 || w32.label === avoid) return refused;
  const second = y[w32.label] - w32.margin;
  if (w32.margin <= FLOAT32_MARGIN * Math.max(Math.abs(y[w32.label]), Math.abs(second))) return refused;
  const w64 = strictWinner(trace(ctx.net, x, { matrices: ctx.matrices }).logits);
  if (!w64 || w64.label !== w32.label) return refused;
  // The float64 reader's values differ from the float32 ones by rounding: checked too when they differ.
  if (read64.some((v, i) => v !== x[i])) {
    const r64 = strictWinner(trace(ctx.net, read64, { matrices: ctx.matrices }).logits);
    if (!r64 || r64.label !== w32.label) return refused;
  }
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
