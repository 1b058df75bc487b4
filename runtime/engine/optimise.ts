// Optimised bounds (α-CROWN, and β-CROWN's multipliers where the boxes carry splits): the rows' lower bounds over B
// boxes, raised by projected gradient ascent on each row's own ReLU lower slopes and split multipliers, the
// gradients from the engine's optimisable bounds graph (bounds-graph.ts "Optimisable": coefficient⁺·ẑ and ẑ). The
// bracket's lower bound (runtime/rho/lower.ts) and the batched branch and bound (runtime/bab/batched.ts) use it.

import type { BatchData, BoundsClamp, Engine, EngineBoxBounds, Network } from "../../compiler/index.js";
import { sizeOf } from "../../compiler/index.js";

/*
 * Design notes:
 * Soundness: every bound this returns is one the engine returned (float64, padded outward) for slopes in [0, 1]
 * and multipliers the graph itself restricts to the sound sign; the optimisation only steers which slopes and
 * multipliers are asked for. Per row the best bound over the iterations is kept, so the answer is never below the
 * first call's (DeepPoly's slopes, or the warm start given).
 *
 * Iterations after the first: the intermediate bounds do not depend on the rows' slopes, so the first call's
 * (intermediate layers back-substituted) are passed back as clamps and the later calls run the graph without its
 * intermediate back-substitution or intervals (BoundsAsk.refine = false, intervals = false: the clamps are the
 * bounds), paying for the rows' pass alone. A box whose rows are all above `target` leaves the batch.
 *
 * The step is Adam's (as auto_LiRPA's optimised bounds use), per slope and multiplier, with the learning rates
 * below, projected onto [0, 1] for slopes and onto the sign its split allows for multipliers (γ ≤ 0 where the
 * box's clamps say z ≥ 0, γ ≥ 0 where z ≤ 0, 0 elsewhere: only split neurons get one).
 *
 * Steering (OptimiseOptions.steer, the default): the first call is float64 (it gives the intermediate bounds the
 * later calls take as clamps, and a certified bound); the iterations' calls run the float32 variant of the graph,
 * whose bounds and gradients only steer: per row the parameters of its best float32 bound are kept, and one last
 * float64 call with them (boxes where some row's float32 bound rose above the first call's) certifies; per row the
 * answer is the better of the two float64 bounds. The float32 graph runs 2.1–2.4× (mnist_mlp) and 3.0–3.6× (the
 * LeNets, mnist_nin: onnxruntime's own convs) faster than the float64 one (bench/steer.ts). The parameters returned
 * (warm starts) are the best ones, not the last.
 */

export interface OptimiseOptions {
  /** Gradient steps after the first call (0: the first call's bounds). */
  readonly iterations: number;
  /** Boxes whose every row's bound exceeds this (one value, or R: per row) stop early (default +∞: never). */
  readonly target?: number | Float64Array;
  /** B·R: rows known to exceed the target already (nonzero; e.g. proved on a parent box): the stop test skips them. */
  readonly settled?: Uint8Array;
  /** performance.now() milliseconds after which no further step starts. */
  readonly deadline?: number;
  /** Per ReLU layer B·n bounds that hold on each box (branch and bound's splits). */
  readonly clamps?: readonly BoundsClamp[];
  /** Per max-pool layer B·n_in bounds of its input that hold on each box (BoundsAsk.poolClamps). */
  readonly poolClamps?: readonly BoundsClamp[];
  /**
   * Per max-pool layer B·n_in: which pool inputs get a multiplier of their clamps (BoundsAsk.poolMultipliers), and
   * its sign (−1: γ ≤ 0 against the lower end, a split x ≥ c; +1: γ ≥ 0 against the upper end; 0: none). Default none.
   */
  readonly poolMultiplierSigns?: readonly Int8Array[];
  /** Warm starts per max-pool layer, B·R·n_in. */
  readonly poolMultipliers?: readonly Float64Array[];
  /**
   * false: the first call too takes its intermediate bounds from the clamps alone (intervals, no back-substitution:
   * BoundsAsk.refine), e.g. a subdomain's parent's bounds with its split; default true.
   */
  readonly refine?: boolean;
  /**
   * Per ReLU layer B·n: which neurons get a multiplier, and its sign (−1: γ ≤ 0, a split z ≥ 0; +1: γ ≥ 0, z ≤ 0;
   * 0: none). Default: from the clamps (−1 where clamp lower ≥ 0, +1 where clamp upper ≤ 0).
   */
  readonly multiplierSigns?: readonly Int8Array[];
  /** Warm starts per ReLU layer, B·R·n: row slopes (outside [0, 1]: DeepPoly's) and multipliers. */
  readonly rowSlopes?: readonly Float64Array[];
  readonly multipliers?: readonly Float64Array[];
  /** Return the rows' coefficients of each box's best call (branching scores). */
  readonly coefficients?: boolean;
  readonly lrAlpha?: number;
  readonly lrBeta?: number;
  /**
   * The iterations' calls in the bounds graph's float32 steering variant (BoundsAsk.steer), then one float64 call
   * with each box's best parameters certifies them (header); default true. false: every call float64.
   */
  readonly steer?: boolean;
}

export const DEFAULT_LR = { alpha: 0.1, beta: 0.05 } as const;

export interface OptimisedBounds {
  /** B·R: per box and row the best bound found. */
  readonly lower: Float64Array;
  /** The first call's intermediate bounds (B·n per ReLU layer). */
  readonly preActivation: EngineBoxBounds["preActivation"];
  /** The first call's bounds of each max-pool layer's input (B·n_in). */
  readonly poolInput: NonNullable<EngineBoxBounds["poolInput"]>;
  /** Per ReLU layer B·R·n: the slopes and multipliers each box ended with (warm starts for its children). */
  readonly rowSlopes: Float64Array[];
  readonly multipliers: Float64Array[];
  /** Per max-pool layer B·R·n_in: the pool multipliers each box ended with. */
  readonly poolMultipliers: Float64Array[];
  /** With `coefficients`: per ReLU layer B·R·n, each box's coefficients from its last call that raised one of its rows. */
  readonly coefficients?: Float64Array[];
  /** With `coefficients`: per max-pool layer B·R·m, from the same calls. */
  readonly poolCoefficients?: Float64Array[];
  /** Engine calls made. */
  readonly calls: number;
}

/** Rows idx[i] of width w of `from`, one after another. */
function pick(from: BatchData, idx: readonly number[], w: number): Float64Array {
  const out = new Float64Array(idx.length * w);
  idx.forEach((b, i) => out.set(from.subarray(b * w, (b + 1) * w), i * w));
  return out;
}

/** Adam's moments for one parameter array. */
class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  /** The bias corrections of this iteration: 1/(1 − 0.9^t) and 1/(1 − 0.999^t). */
  private c1 = 0;
  private c2 = 0;
  constructor(size: number) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }
  /** The ascent step at i for gradient g (call next() once per iteration first). */
  step(i: number, g: number, lr: number): number {
    const m = (this.m[i] = 0.9 * this.m[i] + 0.1 * g);
    const v = (this.v[i] = 0.999 * this.v[i] + 0.001 * g * g);
    return (lr * m * this.c1) / (Math.sqrt(v * this.c2) + 1e-8);
  }
  next(): void {
    this.t++;
    this.c1 = 1 / (1 - 0.9 ** this.t);
    this.c2 = 1 / (1 - 0.999 ** this.t);
  }
}

/**
 * Lower bounds of the rows G (R per box, over the K logits) on B boxes with optimised slopes (and multipliers on
 * the clamps' splits). The engine must be optimisable (Engine.optimisable); `iterations` 0 is one plain call.
 */
export async function optimisedBounds(
  engine: Engine,
  net: Network,
  lower: BatchData,
  upper: BatchData,
  rows: BatchData,
  R: number,
  B: number,
  o: OptimiseOptions,
): Promise<OptimisedBounds> {
  if (!engine.optimisable) throw new Error("internal: optimised bounds need the bounds graph (Engine.optimisable)");
  const n = engine.inputSize,
    K = engine.outputSize;
  const widths = engine.slopeLayers.map((id) => sizeOf(net.layers[id].shape));
  const target = typeof o.target === "object" ? o.target : new Float64Array(R).fill(o.target ?? Infinity),
    lrA = o.lrAlpha ?? DEFAULT_LR.alpha,
    lrB = o.lrBeta ?? DEFAULT_LR.beta;
  const alpha = widths.map((w, i) =>
    o.rowSlopes ? Float64Array.from(o.rowSlopes[i]) : new Float64Array(B * R * w).fill(-1),
  );
  const gamma = widths.map((w, i) =>
    o.multipliers ? Float64Array.from(o.multipliers[i]) : new Float64Array(B * R * w),
  );
  const poolIn = engine.poolLayers.map((id) => sizeOf(net.layers[(net.layers[id] as { input: number }).input].shape));
  const pgamma = poolIn.map((w, i) =>
    o.poolMultipliers ? Float64Array.from(o.poolMultipliers[i]) : new Float64Array(B * R * w),
  );
  const psign = o.poolMultiplierSigns ?? poolIn.map((w) => new Int8Array(B * w));
  const pooled = o.poolClamps !== undefined && psign.some((sg) => sg.some((v) => v !== 0));
  const first = await engine.bounds(lower, upper, rows, R, B, undefined, o.clamps, {
    rowSlopes: alpha,
    multipliers: gamma,
    ...(pooled ? { poolMultipliers: pgamma } : {}),
    relaxed: true,
    coefficients: true,
    refine: o.refine ?? true,
    ...(o.poolClamps ? { poolClamps: o.poolClamps } : {}),
  });
  let calls = 1;
  const best = Float64Array.from(first.lower);
  const coefficients = o.coefficients ? first.coefficients!.map((c) => Float64Array.from(c)) : undefined;
  const poolCoefficients = o.coefficients ? first.poolCoefficients!.map((c) => Float64Array.from(c)) : undefined;
  const pre = first.preActivation,
    poolInput = first.poolInput!;
  const poolOut = engine.poolLayers.map((id) => sizeOf(net.layers[id].shape));
  const adamP = poolIn.map((w) => new Adam(B * R * w));
  // The clamp ends the last call paired the pool multipliers with (the gradient in γ is x̂ − c): the caller's in the
  // first call, the first call's bounds of the pools' inputs (as clamps) after.
  let ends: readonly BoundsClamp[] | undefined = o.poolClamps;
  // The split signs: −1 where the caller's clamps say z ≥ 0 (γ ≤ 0), +1 where z ≤ 0, 0 elsewhere; slopes move only
  // at unstable neurons (ẑ's gradient elsewhere is the box's own slope, which the graph keeps).
  const sign = widths.map((w, i) => {
    if (o.multiplierSigns) return o.multiplierSigns[i];
    const s = new Int8Array(B * w);
    if (o.clamps)
      for (let k = 0; k < B * w; k++) s[k] = o.clamps[i].lower[k] >= 0 ? -1 : o.clamps[i].upper[k] <= 0 ? 1 : 0;
    return s;
  });
  // DeepPoly's slope where a row slope is unset (the graph's own default), so that steps start from it.
  for (let i = 0; i < widths.length; i++) {
    const w = widths[i];
    for (let b = 0; b < B; b++)
      for (let j = 0; j < w; j++) {
        const l = pre[i].lower[b * w + j],
          u = pre[i].upper[b * w + j];
        const dp = u >= -l ? 1 : 0;
        for (let r = 0; r < R; r++) {
          const k = (b * R + r) * w + j;
          if (!(alpha[i][k] >= 0 && alpha[i][k] <= 1)) alpha[i][k] = dp;
        }
      }
  }
  const adamA = widths.map((w) => new Adam(B * R * w)),
    adamB = widths.map((w) => new Adam(B * R * w));
  // Per ReLU layer and box, the neurons that move (unstable: a slope; split: a multiplier), found once: the
  // intermediate bounds are the first call's throughout.
  const moving = widths.map((w, i) =>
    Array.from({ length: B }, (_, b) => {
      const js: number[] = [];
      for (let j = 0; j < w; j++) {
        const l = pre[i].lower[b * w + j],
          u = pre[i].upper[b * w + j];
        if ((l < 0 && u > 0) || sign[i][b * w + j] !== 0) js.push(j);
      }
      return Int32Array.from(js);
    }),
  );
  const steer = (o.steer ?? true) && o.iterations > 0;
  // Per row the best bound the iterations saw (float32 while steering) and the parameters that gave it.
  const seen = Float64Array.from(first.lower);
  const bestAlpha = alpha.map((a) => Float64Array.from(a)),
    bestGamma = gamma.map((g) => Float64Array.from(g)),
    bestPool = pgamma.map((g) => Float64Array.from(g));
  const moved = new Uint8Array(B);
  const keepRow = (b: number, r: number) => {
    const keep = (from: readonly Float64Array[], into: readonly Float64Array[], w: readonly number[]) =>
      from.forEach((a, i) => {
        const k = (b * R + r) * w[i];
        into[i].set(a.subarray(k, k + w[i]), k);
      });
    keep(alpha, bestAlpha, widths);
    keep(gamma, bestGamma, widths);
    keep(pgamma, bestPool, poolIn);
  };
  const open = (b: number) => {
    for (let r = 0; r < R; r++) if (!(seen[b * R + r] > target[r]) && !o.settled?.[b * R + r]) return true;
    return false;
  };
  /**
   * The rows' pass alone (the first call's intermediate bounds and pool-input bounds as clamps) on boxes `boxes` with
   * the given slopes and multipliers: an iteration's call and the certifying one.
   */
  const rowsPass = (
    boxes: readonly number[],
    a: readonly Float64Array[],
    g: readonly Float64Array[],
    pg: readonly Float64Array[],
    ask: { relaxed?: boolean; coefficients: boolean; steer: boolean },
  ) =>
    engine.bounds(
      pick(lower, boxes, n),
      pick(upper, boxes, n),
      pick(rows, boxes, R * K),
      R,
      boxes.length,
      undefined,
      pre.map((p, i) => ({ lower: pick(p.lower, boxes, widths[i]), upper: pick(p.upper, boxes, widths[i]) })),
      {
        rowSlopes: a.map((v, i) => pick(v, boxes, R * widths[i])),
        multipliers: g.map((v, i) => pick(v, boxes, R * widths[i])),
        ...(pooled ? { poolMultipliers: pg.map((v, i) => pick(v, boxes, R * poolIn[i])) } : {}),
        ...ask,
        refine: false,
        // The first call's intermediate bounds are the clamps, taken as they are (no intervals recomputed: the
        // same numbers, engine-intervals.test.ts).
        intervals: false,
        // The first call's bounds of the pools' inputs hold on the boxes: as clamps, the rows' pass keeps them.
        ...(poolInput.length > 0
          ? {
              poolClamps: poolInput.map((p, i) => ({
                lower: pick(p.lower, boxes, poolIn[i]),
                upper: pick(p.upper, boxes, poolIn[i]),
              })),
            }
          : {}),
      },
    );
  /** Box b's coefficients (branching scores) from position bi of a call's answer. */
  const takeCoefficients = (from: EngineBoxBounds, bi: number, b: number) => {
    coefficients?.forEach((c, i) => {
      const w = R * widths[i];
      c.set(from.coefficients![i].subarray(bi * w, (bi + 1) * w), b * w);
    });
    poolCoefficients?.forEach((c, i) => {
      const w = R * poolOut[i];
      c.set(from.poolCoefficients![i].subarray(bi * w, (bi + 1) * w), b * w);
    });
  };
  let last = first,
    idx = Array.from({ length: B }, (_, b) => b);
  for (let it = 0; it < o.iterations; it++) {
    // The step from the last call's gradients (boxes idx, in that call's order).
    for (const a of adamA) a.next();
    for (const a of adamB) a.next();
    for (const a of adamP) a.next();
    if (pooled && ends)
      for (let i = 0; i < poolIn.length; i++) {
        const w = poolIn[i],
          xhat = last.poolRelaxed![i],
          e = ends[i];
        idx.forEach((b, bi) => {
          for (let j = 0; j < w; j++) {
            const sg = psign[i][b * w + j];
            if (sg === 0) continue;
            const c = sg < 0 ? e.lower[b * w + j] : e.upper[b * w + j];
            if (!Number.isFinite(c)) continue;
            for (let r = 0; r < R; r++) {
              const q = (bi * R + r) * w + j,
                k = (b * R + r) * w + j;
              const v = pgamma[i][k] + adamP[i].step(k, xhat[q] - c, lrB);
              pgamma[i][k] = sg < 0 ? Math.min(v, 0) : Math.max(v, 0);
            }
          }
        });
      }
    for (let i = 0; i < widths.length; i++) {
      const w = widths[i],
        coef = last.coefficients![i],
        zhat = last.relaxed![i];
      idx.forEach((b, bi) => {
        for (const j of moving[i][b]) {
          const l = pre[i].lower[b * w + j],
            u = pre[i].upper[b * w + j],
            sg = sign[i][b * w + j];
          const unstable = l < 0 && u > 0;
          for (let r = 0; r < R; r++) {
            const q = (bi * R + r) * w + j,
              k = (b * R + r) * w + j;
            if (unstable) {
              const g = Math.max(coef[q], 0) * zhat[q];
              if (g !== 0) alpha[i][k] = Math.min(1, Math.max(0, alpha[i][k] + adamA[i].step(k, g, lrA)));
            }
            if (sg !== 0) {
              const v = gamma[i][k] + adamB[i].step(k, zhat[q], lrB);
              gamma[i][k] = sg < 0 ? Math.min(v, 0) : Math.max(v, 0);
            }
          }
        }
      });
    }
    idx = idx.filter(open);
    if (idx.length === 0 || (o.deadline !== undefined && performance.now() >= o.deadline)) break;
    last = await rowsPass(idx, alpha, gamma, pgamma, { relaxed: true, coefficients: true, steer });
    calls++;
    ends = poolInput;
    idx.forEach((b, bi) => {
      let improved = false;
      for (let r = 0; r < R; r++)
        if (last.lower[bi * R + r] > seen[b * R + r]) {
          seen[b * R + r] = last.lower[bi * R + r];
          if (!steer) best[b * R + r] = seen[b * R + r];
          keepRow(b, r);
          improved = true;
        }
      if (improved) moved[b] = 1;
      if (improved) takeCoefficients(last, bi, b);
    });
  }
  if (steer) {
    // The certificate of what the float32 calls chose: one float64 call with each moved box's best parameters.
    const done = Array.from({ length: B }, (_, b) => b).filter((b) => moved[b]);
    if (done.length > 0) {
      const fin = await rowsPass(done, bestAlpha, bestGamma, bestPool, {
        coefficients: coefficients !== undefined,
        steer: false,
      });
      calls++;
      done.forEach((b, bi) => {
        for (let r = 0; r < R; r++) best[b * R + r] = Math.max(best[b * R + r], fin.lower[bi * R + r]);
        takeCoefficients(fin, bi, b);
      });
    }
  }
  return {
    lower: best,
    preActivation: pre,
    poolInput,
    rowSlopes: bestAlpha,
    multipliers: bestGamma,
    poolMultipliers: bestPool,
    ...(coefficients ? { coefficients, poolCoefficients } : {}),
    calls,
  };
}
