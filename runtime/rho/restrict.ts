// rho_hat for one seed point (the paper's §4): target = the second most probable label, the restricted LP of
// x*'s linear region solved by the lazy loop through the margin ladder (region-lp.ts), the optimiser checked by
// onnxruntime-node in float32 and the float64 reference. Only a checked example is ever reported as adversarial;
// where no optimiser passes, the point is an `error` with the reason.

import { patternAt, rankLabels, type LayerBounds } from "../../compiler/index.js";
import { DEFAULT_LAZY } from "../lazy/lazy-loop.js";
import { Region } from "../lazy/region.js";
import { marginLadder } from "../point/check.js";
import type { PointContext } from "../point/context.js";
import { secondsSince, type Seed } from "../point/seed.js";
import { BRACKET_LAZY, exhaustedMessage, ladderLp, type LadderResult } from "./region-lp.js";
import { LP_FIELDS, type LpPoint } from "./result.js";

/**
 * The paper's LP inside a ball (the bracket's rho_hat step): radius R in model units and sound bounds of
 * every layer over that ball (their implied rows are never added: lazy-loop.ts). Infeasible inside the ball
 * means rho_hat > R: the answer is `infeasible`, read as "> R" by the caller.
 */
export interface RestrictBall {
  readonly radius: number;
  readonly bounds?: readonly LayerBounds[];
}

/** The restricted LP of x*'s region toward the second most probable label, within `timeLimit` seconds. */
export async function restrictedLp(
  ctx: PointContext,
  seed: Seed,
  timeLimit: number,
  ball?: RestrictBall,
  t0 = performance.now(),
): Promise<{ target: number; lp: LadderResult }> {
  const target = rankLabels(seed.star.logits)[1];
  const lp = await ladderLp(
    ctx,
    {
      region: new Region(ctx.net, ctx.matrices, patternAt(seed.star)),
      xStar: seed.xStar,
      target,
      ...(ball ? { radius: ball.radius, ...(ball.bounds ? { ballBounds: ball.bounds } : {}) } : {}),
    },
    marginLadder(ctx, seed.star.logits),
    {
      avoid: seed.predicted,
      requireTarget: true,
      deadline: t0 + timeLimit * 1000,
      minSeconds: 0.001,
      // Inside the ball (the bracket's stage) with the bracket's LP options; the paper's full LP as before.
      ...(ball ? { lazy: BRACKET_LAZY } : {}),
    },
  );
  return { target, lp };
}

/** --mode restrict: the paper's rho_hat alone, as its record (status adversarial, no-adversarial-in-region, ...). */
export async function restrictPoint(ctx: PointContext, seed: Seed): Promise<LpPoint> {
  const { index, label, predicted } = seed;
  const { target, lp } = await restrictedLp(ctx, seed, (ctx.lazy ?? DEFAULT_LAZY).timeLimit, undefined, seed.t0);
  const work = {
    ...LP_FIELDS,
    index,
    label,
    predicted,
    target,
    alpha: lp.alpha,
    iterations: lp.iterations,
    rowsAdded: lp.rowsAdded,
    rows: lp.rows,
    solverSeconds: lp.solverSeconds,
    primalInfeasibility: lp.primalInfeasibility,
  };
  const seconds = () => secondsSince(seed.t0);
  switch (lp.status) {
    case "checked": {
      const c = lp.checked!;
      return {
        ...work,
        rho: c.dist * ctx.pixelScale,
        lpObjective: lp.t! * ctx.pixelScale,
        checkMargin: c.margin32,
        status: "adversarial",
        seconds: seconds(),
        example: c.example,
      };
    }
    case "infeasible":
      return { ...work, rho: Infinity, status: "no-adversarial-in-region", seconds: seconds() };
    case "timeout":
    case "error":
      return {
        ...work,
        rho: null,
        status: lp.status,
        seconds: seconds(),
        ...(lp.message ? { message: lp.message } : {}),
      };
    case "exhausted":
      return {
        ...LP_FIELDS,
        index,
        label,
        predicted,
        target,
        rho: null,
        status: "error",
        iterations: lp.iterations,
        rowsAdded: lp.rowsAdded,
        solverSeconds: lp.solverSeconds,
        seconds: seconds(),
        message: exhaustedMessage(lp),
      };
  }
}
