// A certified lower bound on rho: the largest eps at which sound bounds of the box ‖x − x*‖∞ ≤ eps prove
// y_l* − y_l > 0 for every l ≠ l* (compiler/lp-bounds/exclude.ts: intervals, back-substitution, then the triangle
// LP's dual bound, never the solver's objective). The claim is about the network's float64 weights in exact
// arithmetic. The bracket's back-substitution runs on the engine's bounds graph (certifiedLowerEngine) with
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
import { DEFAULT_BATCHED_BAB, proveRows } from "../bab/batched.js";
import { deepRootBounds, intervalLayers, rootRowBounds } from "../bab/root-bounds.js";
import { optimisedBounds } from "../engine/optimise.js";
import { openHighsLp } from "../solvers/highs.js";
import { fullRadius } from "../point/check.js";

/** Which sound bounds of the box: intervals, back-substitution (CROWN/DeepPoly-style), or LP-tightened. */
export type LowerMethod = "interval" | "backsub" | "lp";

export interface LowerOptions {
  /** Bisection steps (the bound is within hi / 2^steps of the largest provable eps). */
  readonly steps: number;
  readonly method: LowerMethod;
  readonly timeLimit: number;
  /**
   * On an optimisable engine (certifiedLowerEngine): optimisation steps of each radius's slopes (α-CROWN,
   * runtime/engine/optimise.ts), stopping once the radius is proved; 0: DeepPoly's slopes alone.
   */
  readonly alphaSteps?: number;
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
 * proved) or, when rho_hat = ∞, the radius at which the box becomes the whole input box (tried first: a proof there
 * says rho = ∞). Returns the largest eps proved (0 when none: x* alone is trivially at distance 0). `proves` says
 * whether sound bounds of the radius-eps box prove every margin positive, within the seconds it is given.
 */
async function bisect(
  xStar: Float64Array,
  hi: number,
  box: { lo: number; hi: number },
  opts: LowerOptions,
  proves: (eps: number, seconds: number) => Promise<{ proved: boolean; lps: number }>,
): Promise<{ lower: number; lps: number; seconds: number }> {
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const done = (lower: number) => ({ lower, lps, seconds: (performance.now() - t0) / 1000 });
  const full = fullRadius(xStar, box.lo, box.hi);
  let top = Math.min(hi, full),
    proved = 0,
    lps = 0;
  if (!Number.isFinite(hi)) {
    const r = await proves(full, Math.max(0.1, left()));
    lps += r.lps;
    if (r.proved) return done(Infinity);
  }
  for (let s = 0; s < opts.steps && left() > 0; s++) {
    const mid = (proved + top) / 2;
    const r = await proves(mid, Math.max(0.1, left()));
    lps += r.lps;
    if (r.proved) proved = mid;
    else top = mid;
  }
  return done(proved);
}

/** The bisection on the reference bounds of `opts.method` (intervals, back-substitution or LP-tightened). */
export function certifiedLower(
  net: Network,
  m: NetworkMatrices,
  xStar: Float64Array,
  predicted: number,
  hi: number,
  box: { lo: number; hi: number },
  opts: LowerOptions = DEFAULT_LOWER,
): Promise<{ lower: number; lps: number; seconds: number }> {
  return bisect(xStar, hi, box, opts, (eps, seconds) =>
    provesRobust(net, m, xStar, predicted, eps, box, opts.method, seconds),
  );
}

/** The rows y_l* − y_l (l ≠ l*) over K logits, row-major (K − 1 rows): the margins the engine bounds. */
export function marginRows(predicted: number, K: number): Float64Array {
  const G = new Float64Array((K - 1) * K);
  for (let l = 0, r = 0; l < K; l++)
    if (l !== predicted) {
      G[r * K + predicted] = 1;
      G[r * K + l] = -1;
      r++;
    }
  return G;
}

/** Whether the engine's bounds stand in for the reference's in the bisection: back-substitution, on the graph. */
export const engineLower = (engine: Engine, method: LowerMethod): boolean =>
  method === "backsub" && engine.backend === "onnxruntime" && engine.boundsBackend === "onnxruntime";

/**
 * The bisection on the engine's bounds (Engine.bounds: float64 CROWN back-substitution, padded outward, so a
 * positive lower bound of a margin holds for every input of the box), one box per call. A box costs the same alone
 * or in a batch on these networks (the graph's products dominate, not the call), so several radii per call only
 * add boxes: on the first 10 mnist:test digits (one thread; a throwaway script over the multi-radius search this
 * replaced, commit 20c9375) mnist_lenet's stage took 0.054 s a digit with one
 * radius per call (8 boxes), 0.088 with 2, 0.117 with 4, 0.192 with 8 (32 boxes, resolution upper/6561 instead of
 * /256: a lower bound 4% higher on average); mnist_cnn_bn 0.31 s with 1, 1.44 with 8; mnist_mlp 0.008 and 0.025.
 * Callers check engineLower first.
 */
export function certifiedLowerEngine(
  engine: Engine,
  net: Network,
  xStar: Float64Array,
  predicted: number,
  hi: number,
  box: { lo: number; hi: number },
  opts: LowerOptions = BRACKET_LOWER,
): Promise<{ lower: number; lps: number; seconds: number }> {
  const rows = marginRows(predicted, engine.outputSize),
    R = engine.outputSize - 1;
  const steps = engine.optimisable ? (opts.alphaSteps ?? 0) : 0;
  // Each radius's optimisation starts from the slopes the last one ended with (the boxes are nested).
  let warm: Float64Array[] | undefined;
  return bisect(xStar, hi, box, opts, async (eps) => {
    const bx = radiusBox(xStar, eps, box.lo, box.hi);
    if (steps === 0) {
      const res = await engine.bounds(bx.lower, bx.upper, rows, R, 1);
      return { proved: res.lower.every((v) => v > 0), lps: 0 };
    }
    const res = await optimisedBounds(engine, net, bx.lower, bx.upper, rows, R, 1, {
      iterations: steps,
      target: 0,
      ...(warm ? { rowSlopes: warm } : {}),
    });
    warm = res.rowSlopes;
    return { proved: res.lower.every((v) => v > 0), lps: 0 };
  });
}

/**
 * The bracket's proof stage (modes.ts): from a proved radius `from` toward `hi` (the upper bound), a search with the
 * batched branch and bound as the decision (bab/batched.ts: optimised slopes, β multipliers), within a budget of
 * `nodes` subdomains (not seconds: the answer does not depend on the machine's load, so --jobs 2 gives --jobs 1's
 * points) and the point's time left (`seconds`, a safety). Each decision asks at the midpoint of what is proved and
 * what is not, but at most PROVE_STEP × the proved radius (small steps it can take: a failed decision costs its
 * whole share), with half the subdomains left. Seven decisions at most. Returns the largest radius proved (≥ from).
 * Needs an optimisable engine.
 */
export async function provedLower(
  engine: Engine,
  net: Network,
  xStar: Float64Array,
  predicted: number,
  from: number,
  hi: number,
  box: { lo: number; hi: number },
  budget: { readonly nodes: number; readonly seconds: number },
): Promise<{ lower: number; nodes: number; decisions: number }> {
  const deadline = performance.now() + budget.seconds * 1000;
  const rows = marginRows(predicted, engine.outputSize),
    R = engine.outputSize - 1;
  let proved = from,
    top = Math.min(hi, fullRadius(xStar, box.lo, box.hi)),
    nodes = 0,
    decisions = 0;
  while (decisions < 7 && budget.nodes - nodes >= 2 * MIN_DECISION_NODES && top > proved) {
    const q = nextRadius(proved, top, PROVE_STEP);
    const bx = radiusBox(xStar, q, box.lo, box.hi);
    const r = await proveRows(engine, net, bx.lower, bx.upper, rows, R, {
      ...DEFAULT_BATCHED_BAB,
      nodeLimit: Math.floor((budget.nodes - nodes) / 2),
      deadline,
      deterministic: true,
    });
    nodes += r.nodes;
    decisions++;
    if (r.status === "unsat") proved = q;
    else top = q;
    if (performance.now() >= deadline) break;
  }
  return { lower: proved, nodes, decisions };
}

/**
 * The proof stage's largest step over the proved radius. On mnist_mlp's first 40 test digits (37 with both bounds;
 * 600 subdomains a point) median lower/upper 0.786 with 1.5, 0.790 with 1.2, 0.796 with 1.1 (mean 0.770, 0.779,
 * 0.782), median seconds 1.11, 1.03, 1.16.
 */
const PROVE_STEP = 1.2;

/**
 * The certified lower bound on deep bounds, where the engine's bounds graph leaves layers to intervals (the
 * LeNets): from a proved radius `from` toward `hi`, each radius's box bounded with the reference's back-substitution
 * of those layers' unstable values (bab/root-bounds.ts) as clamps of the engine's bounds of the margins (float64,
 * padded: a positive margin holds on the box). Steps as provedLower's (the midpoint, at most DEEP_STEP × the proved
 * radius), while a radius's estimated cost fits the seconds left; six radii at most. Returns the largest radius
 * proved (≥ from) and the radii tried; null where the engine back-substitutes every layer itself.
 */
export async function deepLower(
  engine: Engine,
  net: Network,
  m: NetworkMatrices,
  xStar: Float64Array,
  predicted: number,
  from: number,
  hi: number,
  box: { lo: number; hi: number },
  seconds: number,
): Promise<{ lower: number; radii: number } | null> {
  if (intervalLayers(net, m).length === 0) return null;
  const deadline = performance.now() + seconds * 1000;
  const rows = marginRows(predicted, engine.outputSize),
    R = engine.outputSize - 1;
  let proved = from,
    top = Math.min(hi, fullRadius(xStar, box.lo, box.hi)),
    radii = 0;
  while (radii < 6 && top > proved) {
    const q = nextRadius(proved, top, DEEP_STEP);
    const bx = radiusBox(xStar, q, box.lo, box.hi);
    const root = deepRootBounds(engine, net, m, bx.lower, bx.upper, (deadline - performance.now()) / 1000);
    if (!root) break;
    radii++;
    const lower = await rootRowBounds(engine, bx.lower, bx.upper, rows, R, root.bounds);
    if (lower.every((v) => v > 0)) proved = q;
    else top = q;
  }
  return { lower: proved, radii };
}

/**
 * The next radius of a search upward from a proved radius toward an unproved `top`: the midpoint, at most `step` ×
 * the proved radius (provedLower, deepLower: a failed radius costs its whole share, small steps pay).
 */
const nextRadius = (proved: number, top: number, step: number): number => {
  const mid = (proved + top) / 2;
  return proved > 0 ? Math.min(mid, step * proved) : mid;
};

/**
 * deepLower's largest step over the proved radius (its radii cost seconds each on the LeNets).
 */
const DEEP_STEP = 1.5;

/** The fewest subdomains a proof-stage decision gets (below it the stage stops). */
const MIN_DECISION_NODES = 16;
