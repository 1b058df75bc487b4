// The one point preamble: x* classified by the evaluator (float32) and traced once in float64, refused as
// misclassified (another label than the data's) or as a near-tie (float32 and float64 disagree on its label).
// Every per-point algorithm starts from the Seed it returns and never classifies or traces x* again.

import { trace, type Trace } from "../../compiler/index.js";
import { argmax } from "../evaluator/types.js";
import type { PointContext } from "./context.js";

/** A seed point every algorithm may start from. */
export interface Seed {
  readonly index: number;
  /** x* in model units (float32 values, as the model sees them). */
  readonly xStar: Float64Array;
  /** The data's label, when known. */
  readonly label: number | null;
  /** The evaluator's label of x* (float32), which the float64 trace agrees with. */
  readonly predicted: number;
  /** x*'s float64 trace (logits, activation pattern): affine layers applied directly, the restriction's convention. */
  readonly star: Trace;
  /** performance.now() when the point began (its seconds count from here). */
  readonly t0: number;
}

/** Why a point has no seed: its label is wrong, or float32 and float64 disagree on it. */
export interface Refusal {
  readonly status: "misclassified" | "error";
  readonly index: number;
  readonly label: number | null;
  readonly predicted: number;
  readonly message?: string;
  readonly t0: number;
}

export const NEAR_TIE = "the float64 reference and onnxruntime (float32) disagree on the label at x* (a near-tie)";

export async function openSeed(
  ctx: PointContext,
  index: number,
  xStar: Float64Array,
  label: number | null,
): Promise<{ seed: Seed } | { refusal: Refusal }> {
  const t0 = performance.now();
  const [yStar] = await ctx.evaluator.logits([xStar]);
  const predicted = argmax(yStar);
  if (label !== null && predicted !== label)
    return { refusal: { status: "misclassified", index, label, predicted, t0 } };
  const star = trace(ctx.net, xStar);
  if (argmax(star.logits) !== predicted)
    return { refusal: { status: "error", index, label, predicted, message: NEAR_TIE, t0 } };
  return { seed: { index, xStar, label, predicted, star, t0 } };
}

/** Seconds since the point began. */
export const secondsSince = (t0: number): number => (performance.now() - t0) / 1000;
