// rho_hat for one seed point (the paper's §4): predicted label l*, target = second most probable, the
// restricted LP solved by the lazy loop, the optimiser checked by onnxruntime-node in float32. Only a
// checked example is ever reported as adversarial.
//
// Float32 rule (types.ts: marginLadder): the LP's optimiser lies on the decision boundary, where float32
// rounding can tip the argmax back; when the check fails the LP is re-solved with the next margin of the
// ladder, and the first checked optimiser is reported; if none passes, the point is an `error` with the reason.

import { patternAt, rankLabels, trace, type LayerBounds } from "../../compiler/index.js";
import { argmax } from "../evaluator/types.js";
import { DEFAULT_LAZY, solveLazy } from "../lazy/lazy-loop.js";
import { Region } from "../lazy/region.js";
import { checkExample, linf, marginLadder } from "../point/check.js";
import { type PointContext } from "../point/context.js";
import { type PointResult } from "./result.js";

/**
 * The paper's LP inside a ball (the bracket's rho_hat step): radius R in model units and sound bounds of
 * every layer over that ball (their implied rows are never added: lazy-loop.ts). Infeasible inside the ball
 * means rho_hat > R: the answer is `no-adversarial-in-region` with rho = ∞, read as "> R" by the caller.
 */
export interface RestrictBall {
  readonly radius: number;
  readonly bounds?: readonly LayerBounds[];
}

export async function rhoForPoint(
  ctx: PointContext,
  index: number,
  xStar: Float64Array,
  label: number | null,
  ball?: RestrictBall,
): Promise<PointResult> {
  const t0 = performance.now();
  const base = {
    index,
    label,
    lpObjective: null,
    checkMargin: null,
    alpha: 0,
    iterations: 0,
    rows: 0,
    rowsAdded: 0,
    primalInfeasibility: null,
    solverSeconds: 0,
  };
  const [yStar] = await ctx.evaluator.logits([xStar]);
  const predicted = argmax(yStar);
  const elapsed = () => (performance.now() - t0) / 1000;
  if (label !== null && predicted !== label) {
    return { ...base, predicted, target: null, rho: null, status: "misclassified", seconds: elapsed() };
  }
  const star = trace(ctx.net, xStar);
  if (argmax(star.logits) !== predicted) {
    return {
      ...base,
      predicted,
      target: null,
      rho: null,
      status: "error",
      seconds: elapsed(),
      message: "the float64 reference and onnxruntime (float32) disagree on the label at x* (a near-tie)",
    };
  }
  const target = rankLabels(star.logits)[1];
  const region = new Region(ctx.net, ctx.matrices, patternAt(star));
  const ladder = marginLadder(ctx, star.logits);
  let iterations = 0,
    rowsAdded = 0,
    solverSeconds = 0;
  const lazy = ctx.lazy ?? DEFAULT_LAZY;
  const failures: string[] = [];
  for (const [k, alpha] of ladder.entries()) {
    const remaining = lazy.timeLimit - elapsed();
    const r = await solveLazy(
      {
        region,
        xStar,
        target,
        margin: alpha,
        lower: ctx.pixelMin / ctx.pixelScale,
        upper: ctx.pixelMax / ctx.pixelScale,
        ...(ball ? { radius: ball.radius, ...(ball.bounds ? { ballBounds: ball.bounds } : {}) } : {}),
      },
      { ...lazy, timeLimit: Math.max(0.001, remaining) },
    );
    iterations += r.iterations;
    rowsAdded += r.rowsAdded;
    solverSeconds += r.solverSeconds;
    const common = {
      ...base,
      predicted,
      target,
      alpha,
      iterations,
      rowsAdded,
      rows: r.rows,
      solverSeconds,
      primalInfeasibility: r.status === "optimal" ? r.poolViolation : null,
    };
    if (r.status === "infeasible") {
      // With alpha > 0 an infeasible LP only says the boundary example did not survive float32 rounding.
      if (k === 0) return { ...common, rho: Infinity, status: "no-adversarial-in-region", seconds: elapsed() };
      failures.push(`alpha ${alpha.toExponential(1)}: LP infeasible`);
      break;
    }
    if (r.status !== "optimal")
      return {
        ...common,
        rho: null,
        status: r.status === "timeout" ? "timeout" : "error",
        seconds: elapsed(),
        message: r.message,
      };
    const example = Float32Array.from(r.x!);
    const [y] = await ctx.evaluator.logits([Float64Array.from(example)]);
    const others = Array.from(y).filter((_, i) => i !== target);
    const checkMargin = y[target] - Math.max(...others);
    const checked = await checkExample(ctx, example, xStar, predicted);
    if (checked && checked.label === target) {
      return {
        ...common,
        rho: linf(example, xStar) * ctx.pixelScale,
        lpObjective: r.t! * ctx.pixelScale,
        checkMargin,
        status: "adversarial",
        seconds: elapsed(),
        example,
      };
    }
    failures.push(
      `alpha ${alpha.toExponential(1)}: float32 argmax ${argmax(y)} (margin ${checkMargin.toExponential(2)})${argmax(y) === target ? ", not a strict win in float32 and float64" : ""}`,
    );
  }
  return {
    ...base,
    predicted,
    target,
    rho: null,
    status: "error",
    iterations,
    rowsAdded,
    solverSeconds,
    seconds: elapsed(),
    message: `no LP optimiser passed the onnxruntime float32 check (${failures.join("; ")})`,
  };
}
