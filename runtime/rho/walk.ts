// Region walking: from a restricted LP's optimum in some region, flip the pattern entries whose rows bind there
// (each nonlinear kind's `binding`) and solve the restricted LP of the neighbouring region; keep the best checked
// example (an upper bound on rho no worse than the start). walkForward goes the other way, from x*'s region when
// its LP is infeasible, maximising the target's margin region by region. Region LPs go through region-lp.ts.

import {
  choicesOf,
  flip,
  isNonlinear,
  patternAt,
  patternKey,
  semanticsOf,
  trace,
  windowsOf,
  type ActivationPattern,
  type BindingFlip,
  type Trace,
} from "../../compiler/index.js";
import { DEFAULT_LAZY, solveLazy, type LazyOptions } from "../lazy/lazy-loop.js";
import { Region } from "../lazy/region.js";
import { logitScale, marginLadder, type Checked } from "../point/check.js";
import { checkedRegionLp } from "./region-lp.js";
import { type PointContext } from "../point/context.js";

export interface WalkOptions {
  /** Walking steps (each moves to the best neighbouring region found). */
  readonly steps: number;
  /** Neighbouring regions tried per step (all binding flips at once, then one flip at a time). */
  readonly tries: number;
  readonly timeLimit: number;
  /** The lazy loop's options for the neighbouring regions' LPs over the context's. */
  readonly lazy?: Partial<LazyOptions>;
}

export const DEFAULT_WALK: WalkOptions = { steps: 4, tries: 6, timeLimit: 60 };

/** Pattern entries whose region rows are (nearly) tight at x: their flips are the neighbouring regions. */
function bindingFlips(ctx: PointContext, pattern: ActivationPattern, x: Float64Array, tol: number): BindingFlip[] {
  const vals = trace(ctx.net, x, { matrices: ctx.matrices, pattern }).values;
  const out: BindingFlip[] = [];
  for (const l of ctx.net.layers) {
    if (isNonlinear(l)) semanticsOf(l).binding(l, windowsOf(l), vals[l.input], choicesOf(pattern, l.id), tol, out);
  }
  return out.sort((a, b) => a.gap - b.gap);
}

export interface WalkResult {
  /** The best checked example (the start when no neighbour improved on it). */
  readonly best: Checked | null;
  readonly steps: number;
  readonly regions: number;
  readonly seconds: number;
}

/**
 * Walks from a start: a checked example that is the restricted LP's optimum in the region `from` (x*'s
 * region, the pattern of `star`, by default; the bracket starts in the region of its attack's example).
 * Each step tries the neighbouring regions across the binding facets at the current best point — inside
 * the ball of the current best distance, where every improvement lies — and moves to the best checked one.
 */
export async function walkRegions(
  ctx: PointContext,
  star: Trace,
  xStar: Float64Array,
  target: number,
  predicted: number,
  start: Checked | null,
  opts: WalkOptions = DEFAULT_WALK,
  from?: ActivationPattern,
): Promise<WalkResult> {
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  // From the first raised margin: an optimiser at margin 0 lies on the decision boundary, where the strict
  // rule (types.ts checkExample) almost never counts it.
  const ladder = marginLadder(ctx, star.logits).slice(1);
  // The checked example is float32 and may sit a hair off the LP's facets: a tolerance of 1e-6 (scaled).
  const tol = 1e-6 * logitScale(star.logits);
  let ph = from ?? patternAt(star);
  let best = start,
    steps = 0,
    regions = 0;
  while (best && steps < opts.steps && left() > 0) {
    steps++;
    const flips = bindingFlips(ctx, ph, Float64Array.from(best.example), tol);
    if (flips.length === 0) break;
    const trials: BindingFlip[][] = [flips, ...flips.slice(0, opts.tries - 1).map((f) => [f])];
    let moved: { c: Checked; ph: ActivationPattern } | null = null;
    for (const fs of trials.slice(0, opts.tries)) {
      if (left() <= 0) break;
      const next = flip(ph, fs);
      regions++;
      const c = await checkedRegionLp(ctx, next, xStar, target, predicted, ladder, left(), best.dist, opts.lazy);
      if (c && c.dist < (moved?.c.dist ?? best.dist) * (1 - 1e-9) - 1e-12) moved = { c, ph: next };
    }
    if (!moved) break;
    best = moved.c;
    ph = moved.ph;
  }
  return { best, steps, regions, seconds: (performance.now() - t0) / 1000 };
}

export interface ForwardResult {
  readonly best: Checked | null;
  /** The region the example was found in. */
  readonly pattern: ActivationPattern | null;
  readonly steps: number;
  /** The target's largest margin y_target − max_l y_l found in the last region ∩ ball (> 0: examples there). */
  readonly margin: number | null;
  readonly seconds: number;
}

/**
 * Forward from x*'s region when its restricted LP is infeasible (the paper's LP applied region by region,
 * starting where the paper stops): from z = x*, in the current region ∩ the ball of radius `step` around z,
 * maximise the target's margin (the lazy loop's margin objective) — a trust region: the margin LP over a
 * large ball is slow on conv nets (its maximiser sits in a far corner, past many rows) — and move z there.
 * Where that maximum is positive, the region's restricted LP inside the ball `radius` around x* gives the
 * example (checked like any other); otherwise cross every facet binding at z into the neighbouring region (or,
 * where no facet binds — the ball stopped it — go on from z in the same region with a ball twice as large)
 * and repeat, at most opts.steps LPs, never entering a region twice.
 */
export async function walkForward(
  ctx: PointContext,
  star: Trace,
  xStar: Float64Array,
  target: number,
  predicted: number,
  radius: number,
  opts: WalkOptions,
  step = FORWARD_STEP,
  from?: { readonly pattern: ActivationPattern; readonly z: Float64Array },
): Promise<ForwardResult> {
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const ladder = marginLadder(ctx, star.logits).slice(1);
  const tol = 1e-6 * logitScale(star.logits);
  // From x*'s region, or (margin-example.ts) from a region and point already past the decision boundary.
  let ph = from?.pattern ?? patternAt(star),
    margin: number | null = null,
    z = from?.z ?? xStar;
  const seen = new Set([patternKey(ph)]);
  const done = (best: Checked | null, steps: number): ForwardResult => ({
    best,
    pattern: best ? ph : null,
    steps,
    margin,
    seconds: (performance.now() - t0) / 1000,
  });
  for (let k = 1; k <= opts.steps && left() > 0; k++) {
    const r = await solveLazy(
      {
        region: new Region(ctx.net, ctx.matrices, ph),
        xStar: z,
        target,
        margin: 0,
        objective: "margin",
        radius: step,
        lower: ctx.pixelMin / ctx.pixelScale,
        upper: ctx.pixelMax / ctx.pixelScale,
      },
      { ...(ctx.lazy ?? DEFAULT_LAZY), ...opts.lazy, timeLimit: left() },
    );
    if (r.status !== "optimal") return done(null, k);
    margin = r.t!;
    z = r.x!;
    if (margin > ladder[0])
      return done(
        await checkedRegionLp(ctx, ph, xStar, target, predicted, ladder, Math.max(0.1, left()), radius, opts.lazy),
        k,
      );
    const flips = bindingFlips(ctx, ph, z, tol);
    // The ball stopped it, not a facet: on in the same region from z, with a ball twice as large.
    if (flips.length === 0) {
      if (step >= radius) return done(null, k);
      step = Math.min(2 * step, radius);
      continue;
    }
    ph = flip(ph, flips);
    const key = patternKey(ph);
    if (seen.has(key)) return done(null, k);
    seen.add(key);
  }
  return done(null, opts.steps);
}

/** The forward walk's trust region: 5 pixels on the 0–255 scale of a [0, 1] input (model units). */
export const FORWARD_STEP = 5 / 255;
