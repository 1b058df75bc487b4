// A certified lower bound on rho: the largest eps at which sound bounds of the box ‖x − x*‖∞ ≤ eps prove
// y_l* − y_l > 0 for every l ≠ l* (compiler/lp-bounds/exclude.ts: intervals, back-substitution, then the triangle
// LP's dual bound, never the solver's objective). The claim is about the network's float64 weights in exact
// arithmetic. The bracket's back-substitution runs on the engine's bounds graph (certifiedLowerBatched) with
// --backend onnxruntime, on the reference loops (certifiedLower) otherwise: the same bisection either way.

import {
  allPositive,
  ENGINE_BACKSUB_WORK,
  marginOf,
  radiusBox,
  soundBounds,
  type Box,
  type Engine,
  type LayerBounds,
  type Network,
  type NetworkMatrices,
} from "../../compiler/index.js";
import { openHighsLp } from "../solvers/highs.js";
import { fullRadius } from "../point/check.js";

/** Which sound bounds of the box: intervals, back-substitution (CROWN/DeepPoly-style), or LP-tightened. */
export type LowerMethod = "interval" | "backsub" | "lp";

export interface LowerOptions {
  /** Bisection steps (the bound is within hi / 2^steps of the largest provable eps). */
  readonly steps: number;
  readonly method: LowerMethod;
  readonly timeLimit: number;
}

/** The exact and bounds modes: LP-tightened bounds, the triangle LP's dual bound last. */
export const DEFAULT_LOWER: LowerOptions = { steps: 8, method: "lp", timeLimit: 60 };
/**
 * The bracket's default: back-substitution only (no LP), eight bisection steps (within upper/256). How soundness is
 * kept: every
 * bound (interval.ts, backsub.ts) is widened by a pad above the float64 rounding of its sums, the margin
 * test (exclude.ts) demands a positive value above its own pad, and a radius counts only when the bounds
 * of its box prove every y_l* − y_l > 0; the claim is about the network's float64 weights in exact arithmetic.
 */
export const BRACKET_LOWER: LowerOptions = { steps: 8, method: "backsub", timeLimit: 60 };

/**
 * Multiply-adds one layer's back-substitution may cost in the bisection: the engine's limit (ENGINE_BACKSUB_WORK), so
 * that the batched and the sequential bisection bound the same boxes alike. On mnist_cnn_bn digit 0, 1e7 instead:
 * 0.2 s instead of ~1.5 s for the stage, but a lower bound of 0.45 px instead of 1.36 px.
 */
const BACKSUB_WORK = ENGINE_BACKSUB_WORK;

/** Sound bounds on a box by the method (HiGHS as the LP oracle; compiler/analysis/bounds/). */
export function boxBounds(
  net: Network,
  m: NetworkMatrices,
  box: Box,
  method: LowerMethod,
  timeLimit: number,
): Promise<LayerBounds[]> {
  const req = {
    interval: { method: "interval" } as const,
    backsub: { method: "backsub", matrices: m, workLimit: BACKSUB_WORK, outputs: false } as const,
    lp: { method: "lp", open: openHighsLp, timeLimit } as const,
  }[method];
  return soundBounds(net, box, req);
}

/** Whether the bounds (or the relaxation) on the box of radius eps prove that l* wins against every other label. */
export async function provesRobust(
  net: Network,
  m: NetworkMatrices,
  xStar: Float64Array,
  predicted: number,
  eps: number,
  box: { lo: number; hi: number },
  method: LowerMethod,
  timeLimit: number,
): Promise<{ proved: boolean; lps: number }> {
  const bounds = await boxBounds(net, m, radiusBox(xStar, eps, box.lo, box.hi), method, timeLimit);
  const nOut = bounds[net.output].lower.length;
  const gs = Array.from({ length: nOut }, (_, l) => l)
    .filter((l) => l !== predicted)
    .map((l) => marginOf(predicted, l));
  return allPositive(net, m, bounds, gs, method === "lp" ? { open: openHighsLp, timeLimit } : {});
}

/**
 * Bisection on eps in [0, hi] (model units): hi is rho_hat (rho ≤ rho_hat, nothing above it can be
 * proved) or, when rho_hat = ∞, the radius at which the box becomes the whole input box. Returns the
 * largest eps proved (0 when none: x* alone is trivially at distance 0).
 */
export async function certifiedLower(
  net: Network,
  m: NetworkMatrices,
  xStar: Float64Array,
  predicted: number,
  hi: number,
  box: { lo: number; hi: number },
  opts: LowerOptions = DEFAULT_LOWER,
): Promise<{ lower: number; lps: number; seconds: number }> {
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const full = fullRadius(xStar, box.lo, box.hi);
  let top = Math.min(hi, full),
    proved = 0,
    lps = 0;
  // The whole box first when rho_hat = ∞ (a proof there says rho = ∞: no input has another label).
  if (!Number.isFinite(hi)) {
    const r = await provesRobust(net, m, xStar, predicted, full, box, opts.method, Math.max(0.1, left()));
    lps += r.lps;
    if (r.proved) return { lower: Infinity, lps, seconds: (performance.now() - t0) / 1000 };
  }
  for (let s = 0; s < opts.steps && left() > 0; s++) {
    const mid = (proved + top) / 2;
    const r = await provesRobust(net, m, xStar, predicted, mid, box, opts.method, Math.max(0.1, left()));
    lps += r.lps;
    if (r.proved) proved = mid;
    else top = mid;
  }
  return { lower: proved, lps, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Radii per round of the search on the engine's bounds (one Engine.bounds call): 1, the bisection itself. A box's
 * bounds cost the same alone or in a batch on these networks (the graph's products, not the call, dominate), so
 * more radii per round only add boxes: on the first 10 mnist:test digits (`.scratch` measurement, one thread)
 * mnist_lenet 0.054 s a digit with 1 (8 boxes), 0.088 with 2, 0.117 with 4, 0.192 with 8 (32 boxes, resolution
 * upper/6561 instead of /256: a lower bound 4% higher on average); mnist_cnn_bn 0.31 s with 1, 1.44 with 8;
 * mnist_mlp 0.008 and 0.025.
 */
export const LOWER_BATCH = 1;

/** Whether the engine's batched bounds stand in for the bisection: back-substitution, on the bounds graph. */
export const batchedLower = (engine: Engine, method: LowerMethod): boolean =>
  method === "backsub" && engine.backend === "onnxruntime" && engine.boundsBackend === "onnxruntime";

/**
 * certifiedLower's search on the engine's bounds (Engine.bounds: float64 CROWN back-substitution, padded outward,
 * so a positive lower bound of a margin holds for every input of the box): each round bounds the margins
 * y_l* − y_l (l ≠ l*) on `perRound` boxes at once, of radii evenly spaced strictly inside (proved, top), and keeps
 * the largest radius proved (every margin's bound > 0) and the smallest refuted one above it. With one radius per
 * round (LOWER_BATCH) that is the bisection itself, `steps` rounds; with more, one round more than
 * (perRound + 1)^rounds ≥ 2^steps needs (finer than the bisection's hi/2^steps, whose radii it does not probe).
 * hi as in certifiedLower (∞: the whole box first). Callers check batchedLower first.
 */
export async function certifiedLowerBatched(
  engine: Engine,
  xStar: Float64Array,
  predicted: number,
  hi: number,
  box: { lo: number; hi: number },
  opts: LowerOptions = BRACKET_LOWER,
  perRound = LOWER_BATCH,
): Promise<{ lower: number; lps: number; seconds: number }> {
  const t0 = performance.now();
  const done = (lower: number) => ({ lower, lps: 0, seconds: (performance.now() - t0) / 1000 });
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const n = engine.inputSize,
    K = engine.outputSize,
    R = K - 1;
  const margins = new Float64Array(R * K);
  for (let l = 0, r = 0; l < K; l++)
    if (l !== predicted) {
      margins[r * K + predicted] = 1;
      margins[r * K + l] = -1;
      r++;
    }
  /** Per radius, whether the bounds of its box prove every margin positive. */
  const proves = async (radii: readonly number[]): Promise<boolean[]> => {
    const B = radii.length;
    const lower = new Float64Array(B * n),
      upper = new Float64Array(B * n),
      rows = new Float64Array(B * R * K);
    radii.forEach((eps, b) => {
      const bx = radiusBox(xStar, eps, box.lo, box.hi);
      lower.set(bx.lower, b * n);
      upper.set(bx.upper, b * n);
      rows.set(margins, b * R * K);
    });
    const res = await engine.bounds(lower, upper, rows, R, B);
    return radii.map((_, b) => res.lower.subarray(b * R, (b + 1) * R).every((v) => v > 0));
  };
  const full = fullRadius(xStar, box.lo, box.hi);
  let top = Math.min(hi, full),
    proved = 0;
  if (!Number.isFinite(hi) && (await proves([full]))[0]) return done(Infinity);
  // With several radii a round, one round more than the bisection's resolution needs: the two searches probe
  // different radii, so at equal resolution the bound can land a step below the bisection's (4 of mnist_mlp's first
  // 18 digits did with 8 radii, by at most 0.016 px).
  const rounds = perRound === 1 ? opts.steps : Math.ceil((opts.steps * Math.LN2) / Math.log(perRound + 1) - 1e-9) + 1;
  for (let round = 0; round < rounds && left() > 0; round++) {
    const lo = proved,
      width = top - lo;
    const radii = Array.from({ length: perRound }, (_, j) => lo + (width * (j + 1)) / (perRound + 1));
    const ok = await proves(radii);
    radii.forEach((eps, j) => {
      if (ok[j]) proved = Math.max(proved, eps);
    });
    // The smallest refuted radius above the largest proved (relaxations need not be monotone in eps).
    radii.forEach((eps, j) => {
      if (!ok[j] && eps > proved) top = Math.min(top, eps);
    });
  }
  return done(proved);
}
