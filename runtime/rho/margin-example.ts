// Fine-tuning examples from the bracket (the paper's §5 with the bracket as "our algorithm"): the bracket finds the
// closest checked example it can, region by region; the paper's LP in that example's linear region then demands
// the confidence margin y_target >= y_l' + alpha, and its optimiser, checked by onnxruntime, is the example. Where
// that region cannot reach the margin, the forward walk (walk.ts) goes on from the example, region by region
// (maximising the target's margin in each), until a region can. Consumes a bracket point; produces a point with status
// adversarial or not-found.

import { patternAt, trace } from "../../compiler/index.js";
import { BRACKET_LAZY, checkedRegionLp } from "./region-lp.js";
import { DEFAULT_WALK, FORWARD_STEP, walkForward } from "./walk.js";
import type { Seed } from "../point/seed.js";
import { fullRadius, marginLadder } from "../point/check.js";
import { type PointContext } from "../point/context.js";
import { type BracketPoint } from "./result.js";

/** The forward walk's LPs toward the margin (the bracket's FORWARD_WALK allows 16). */
const MARGIN_WALK_STEPS = 24;

export async function marginExample(
  ctx: PointContext,
  p: BracketPoint,
  seed: Pick<Seed, "xStar" | "star">,
  alpha: number,
  timeLimit: number,
): Promise<BracketPoint> {
  if (p.status === "misclassified" || p.status === "error") return p;
  const t0 = performance.now();
  const done = (extra: Partial<BracketPoint>): BracketPoint => ({
    ...p,
    ...extra,
    seconds: p.seconds + (performance.now() - t0) / 1000,
  });
  if (!p.example || p.target === null)
    return done({ status: "not-found", rho: null, example: undefined, message: "the bracket found no example" });
  const region = patternAt(trace(ctx.net, Float64Array.from(p.example), { matrices: ctx.matrices }));
  const { xStar, star } = seed;
  const withMargin = { ...ctx, margin: alpha };
  const ladder = marginLadder(withMargin, star.logits);
  let c = await checkedRegionLp(
    withMargin,
    region,
    xStar,
    p.target,
    p.predicted,
    ladder,
    timeLimit,
    undefined,
    BRACKET_LAZY,
  );
  const left = timeLimit - (performance.now() - t0) / 1000;
  if (!c && left > 0) {
    // From the example (already past the boundary) on, region by region, until a region reaches the margin.
    const radius = fullRadius(xStar, ctx.pixelMin / ctx.pixelScale, ctx.pixelMax / ctx.pixelScale);
    const from = { pattern: region, z: Float64Array.from(p.example) };
    c = (
      await walkForward(
        withMargin,
        star,
        xStar,
        p.target,
        p.predicted,
        radius,
        { ...DEFAULT_WALK, steps: MARGIN_WALK_STEPS, timeLimit: left, lazy: BRACKET_LAZY },
        FORWARD_STEP,
        from,
      )
    ).best;
  }
  if (!c)
    return done({
      status: "not-found",
      rho: null,
      example: undefined,
      message: `the LP with margin ${alpha} has no checked optimum in the region of the bracket's example (upper ${p.upper?.toFixed(3)}) or in the regions forward from it`,
    });
  return done({
    status: "adversarial",
    rho: c.dist * ctx.pixelScale,
    example: c.example,
    target: c.label,
    alpha,
    checkMargin: c.margin32 ?? null,
  });
}
