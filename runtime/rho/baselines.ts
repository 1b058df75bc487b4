// The baselines as point records with the LP's result shape: L-BFGS-B (Szegedy et al.), the signed gradient
// (FGSM) and the minimum-norm PGD attack alone (attacks/pgd.ts, the bracket's first stage). Every example
// passes point/check.ts before it counts.

import { rankLabels } from "../../compiler/index.js";
import { argmax } from "../evaluator/types.js";
import { fgsmExample } from "../attacks/fgsm.js";
import { DEFAULT_PGD, minNormAttack } from "../attacks/pgd.js";
import { DEFAULT_LBFGSB, lbfgsbAttack } from "../attacks/lbfgsb.js";
import { inspectExample, marginOfLabel } from "../point/check.js";
import { boxOf, type PointContext } from "../point/context.js";
import { openSeed, secondsSince, type Seed } from "../point/seed.js";
import { LP_FIELDS, refusedPoint, type LpPoint } from "./result.js";

export type Baseline = "lbfgsb" | "fgsm" | "pgd";

/** A baseline on one point: the seed's preamble, then baselineForSeed. */
export async function attackPoint(
  ctx: PointContext,
  algorithm: Baseline,
  eps: number,
  index: number,
  xStar: Float64Array,
  label: number | null,
): Promise<LpPoint> {
  const s = await openSeed(ctx, index, xStar, label);
  if ("refusal" in s) return refusedPoint(s.refusal);
  return baselineForSeed(ctx, algorithm, eps, s.seed);
}

/** A baseline from a seed; `eps` (pixels) is FGSM's step. */
export async function baselineForSeed(
  ctx: PointContext,
  algorithm: Baseline,
  eps: number,
  seed: Seed,
): Promise<LpPoint> {
  const { index, label, predicted, xStar } = seed;
  const base = { ...LP_FIELDS, index, label, predicted };
  const seconds = () => secondsSince(seed.t0);
  const { lo: lower, hi: upper } = boxOf(ctx);
  if (algorithm === "pgd") {
    // The minimum-norm attack over every label (attacks/pgd.ts): its examples are checked there.
    const a = await minNormAttack(ctx, seed, {
      ...DEFAULT_PGD,
      timeLimit: ctx.lazy?.timeLimit ?? DEFAULT_PGD.timeLimit,
    });
    if (!a.best)
      return { ...base, target: null, iterations: a.gradients, rho: Infinity, status: "not-found", seconds: seconds() };
    return {
      ...base,
      target: a.best.label,
      iterations: a.gradients,
      checkMargin: a.best.margin32,
      rho: a.best.dist * ctx.pixelScale,
      status: "adversarial",
      seconds: seconds(),
      example: a.best.example,
    };
  }
  // FGSM is untargeted (any label but l* counts); L-BFGS-B aims at the LP's target, the second most probable.
  const target = algorithm === "fgsm" ? null : rankLabels(seed.star.logits)[1];
  let example: Float64Array | null;
  let alpha = 0,
    iterations = 0;
  if (algorithm === "fgsm") {
    // The step is eps·(1 − 1e-5): float32 rounding of x* + eps can land a hair beyond eps (20.0000005 px),
    // which would make an example found "at eps" miss the frequency's rho ≤ eps.
    example = await fgsmExample(ctx.engine, xStar, predicted, (eps * (1 - 1e-5)) / ctx.pixelScale, lower, upper);
  } else {
    alpha = ctx.margin ?? DEFAULT_LBFGSB.alpha;
    const r = await lbfgsbAttack(ctx.engine, xStar, target!, lower, upper, { ...DEFAULT_LBFGSB, alpha });
    example = r.example;
    iterations = r.evaluations;
  }
  if (!example) return { ...base, target, alpha, iterations, rho: Infinity, status: "not-found", seconds: seconds() };
  // Counted only under the one rule (point/check.ts): a strict win in float32 and float64 alike.
  const { checked, logits32: y } = await inspectExample(ctx, Float32Array.from(example), xStar, predicted);
  const got = argmax(y);
  const ok = checked !== null && (target === null || checked.label === target);
  const checkMargin = marginOfLabel(y, target ?? got);
  if (!ok)
    return {
      ...base,
      target,
      alpha,
      iterations,
      checkMargin,
      rho: Infinity,
      status: "not-found",
      seconds: seconds(),
      message: `onnxruntime label ${got} at the candidate${checked === null && got !== predicted ? " (not a strict win in float32 and float64)" : ""}`,
    };
  return {
    ...base,
    target: target ?? got,
    alpha,
    iterations,
    checkMargin,
    rho: checked.dist * ctx.pixelScale,
    status: "adversarial",
    seconds: seconds(),
    example: checked.example,
  };
}
