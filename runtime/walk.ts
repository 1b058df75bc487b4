// Region walking: from the restricted LP's optimum, flip the ReLU phases (and max-pool winners) whose rows
// are binding there — the optimum sits on that facet of Z(x*), and the neighbouring linear region lies
// across it — and solve the restricted LP of the neighbouring region (same x*, same target). The best
// onnxruntime-checked example found in a few steps is kept: an upper bound on rho at least as tight as the
// paper's rho_hat. checkedRegionLp (the restricted LP of any region, with the float32 rule of rho.ts) is
// shared with the exact mode, which uses it to repair a MILP optimiser that float32 rounding tips back.

import { argmax } from "./evaluator/types.js";
import type { Trace } from "./evaluator/reference.js";
import { DEFAULT_LAZY, solveLazy } from "./lazy-loop.js";
import { Region } from "./region.js";
import { linf, type RhoContext } from "./rho.js";

export interface Checked {
  /** The float32 example (model units) and its L∞ distance from x* (model units). */
  readonly example: Float32Array;
  readonly dist: number;
  readonly label: number;
  readonly lps: number;
}

/** onnxruntime's label of a float32 example (the only check that makes an example count). */
export async function ortLabel(ctx: RhoContext, example: Float32Array): Promise<number> {
  const [y] = await ctx.ort.logits([Float64Array.from(example)]);
  return argmax(y);
}

/**
 * min ‖x − x*‖∞ over a region (the phases and winners of `phases`) ∧ C_out(target) ∧ box, by the lazy loop;
 * the optimiser must pass onnxruntime (label ≠ `avoid`, the seed's label); if it does not, the margin is
 * raised as in rho.ts (alpha_k = 1e-6·scale·10^k). Null: infeasible, failed, or never checked.
 */
export async function checkedRegionLp(ctx: RhoContext, phases: Pick<Trace, "phases" | "argmax">, xStar: Float64Array,
  target: number, avoid: number, scale: number, timeLimit: number): Promise<Checked | null> {
  const star: Trace = { values: [], logits: new Float64Array(0), ...phases };
  const region = new Region(ctx.net, ctx.matrices, star);
  const t0 = performance.now();
  let lps = 0;
  for (let k = -1; k <= 3; k++) {
    const remaining = timeLimit - (performance.now() - t0) / 1000;
    if (remaining <= 0) return null;
    const r = await solveLazy({ region, xStar, target, margin: k < 0 ? 0 : 1e-6 * scale * 10 ** k, lower: ctx.pixelMin / ctx.pixelScale, upper: ctx.pixelMax / ctx.pixelScale },
      { ...(ctx.lazy ?? DEFAULT_LAZY), timeLimit: remaining });
    lps += r.iterations;
    if (r.status !== "optimal") return null;
    const example = Float32Array.from(r.x!);
    const label = await ortLabel(ctx, example);
    if (label !== avoid) return { example, dist: linf(example, xStar), label, lps };
  }
  return null;
}

export interface WalkOptions {
  /** Walking steps (each moves to the best neighbouring region found). */
  readonly steps: number;
  /** Neighbouring regions tried per step (all binding flips at once, then one flip at a time). */
  readonly tries: number;
  readonly timeLimit: number;
}

export const DEFAULT_WALK: WalkOptions = { steps: 4, tries: 6, timeLimit: 60 };

interface Phases { phases: Map<number, Uint8Array>; argmax: Map<number, Int32Array> }
type Flip = { readonly layer: number; readonly j: number; readonly to: number };

/** Rows of the region that are (nearly) tight at x: their flips are the neighbouring regions. */
function bindingFlips(ctx: RhoContext, ph: Phases, x: Float64Array, tol: number): Flip[] {
  const region = new Region(ctx.net, ctx.matrices, { values: [], logits: new Float64Array(0), ...ph });
  const vals = region.forward(x);
  const out: (Flip & { gap: number })[] = [];
  for (const l of ctx.net.layers) {
    if (l.kind === "relu") {
      const u = vals[l.input], p = ph.phases.get(l.id)!;
      for (let j = 0; j < u.length; j++) if (Math.abs(u[j]) <= tol) out.push({ layer: l.id, j, to: p[j] ? 0 : 1, gap: Math.abs(u[j]) });
    } else if (l.kind === "maxpool") {
      const u = vals[l.input], win = ph.argmax.get(l.id)!, w = ctx.matrices.windows[l.id]!;
      for (let j = 0; j < win.length; j++) {
        for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) {
          const e = w.indices[k];
          if (e !== win[j] && Math.abs(u[e] - u[win[j]]) <= tol) out.push({ layer: l.id, j, to: e, gap: Math.abs(u[e] - u[win[j]]) });
        }
      }
    }
  }
  return out.sort((a, b) => a.gap - b.gap);
}

function flipped(ph: Phases, flips: readonly Flip[]): Phases {
  const phases = new Map([...ph.phases].map(([k, v]) => [k, Uint8Array.from(v)]));
  const am = new Map([...ph.argmax].map(([k, v]) => [k, Int32Array.from(v)]));
  for (const f of flips) {
    if (phases.has(f.layer)) phases.get(f.layer)![f.j] = f.to;
    else am.get(f.layer)![f.j] = f.to;
  }
  return { phases, argmax: am };
}

export interface WalkResult {
  /** The best checked example (the start when no neighbour improved on it). */
  readonly best: Checked | null;
  readonly steps: number;
  readonly regions: number;
  readonly seconds: number;
}

/**
 * Walks from a start (the restricted LP's checked optimum in x*'s region). Each step tries the neighbouring
 * regions across the binding facets at the current best point and moves to the best checked improvement.
 */
export async function walkRegions(ctx: RhoContext, star: Trace, xStar: Float64Array, target: number, predicted: number,
  start: Checked | null, opts: WalkOptions = DEFAULT_WALK): Promise<WalkResult> {
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const scale = 1 + Math.max(...Array.from(star.logits, Math.abs));
  let ph: Phases = { phases: new Map(star.phases), argmax: new Map(star.argmax) };
  let best = start, steps = 0, regions = 0;
  while (best && steps < opts.steps && left() > 0) {
    steps++;
    // The checked example is float32 and may sit a hair off the LP's facets: a tolerance of 1e-6 (scaled).
    const flips = bindingFlips(ctx, ph, Float64Array.from(best.example), 1e-6 * scale);
    if (flips.length === 0) break;
    const trials: Flip[][] = [flips, ...flips.slice(0, opts.tries - 1).map((f) => [f])];
    let moved: { c: Checked; ph: Phases } | null = null;
    for (const fs of trials.slice(0, opts.tries)) {
      if (left() <= 0) break;
      const next = flipped(ph, fs);
      regions++;
      const c = await checkedRegionLp(ctx, next, xStar, target, predicted, scale, left());
      if (c && c.dist < (moved?.c.dist ?? best.dist) * (1 - 1e-9) - 1e-12) moved = { c, ph: next };
    }
    if (!moved) break;
    best = moved.c;
    ph = moved.ph;
  }
  return { best, steps, regions, seconds: (performance.now() - t0) / 1000 };
}
