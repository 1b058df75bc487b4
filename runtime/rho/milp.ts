// Exact rho by MILP: min over l ≠ l* of rho(f, x*, l), one big-M MILP per target label (in logit rank order),
// each bounded by the best distance so far, on LP-tightened sound bounds of the ball of radius rho_hat (or the
// whole box). Every MILP optimiser is re-checked; one that float32 rounding tips back is repaired by the
// restricted LP of its own region (region-lp.ts).

import {
  allPositive,
  bigM,
  compilePoint,
  DEFAULT_OPTIONS,
  dualBound,
  encode,
  marginOf,
  patternAt,
  radiusBox,
  rankLabels,
  trace,
  type LpModel,
  type Trace,
} from "../../compiler/index.js";
import { checkedRegionLp } from "./region-lp.js";
import { boxBounds } from "./lower.js";
import { checkExample, linf, marginLadder, type Checked } from "../point/check.js";
import { type PointContext } from "../point/context.js";
import { openHighsLp, solveMilp } from "../solvers/highs.js";

export interface ExactOptions {
  readonly timeLimit: number;
  /** LP-tighten the big-M bounds (default true: on mnist_mlp it halves the unstable ReLUs in a second). */
  readonly tighten: boolean;
  /** A proven lower bound on rho (model units), e.g. lower.ts's: every MILP gets t ≥ it. */
  readonly tMin?: number;
}

export interface ExactResult {
  /** Proven lower bound on rho (model units): min over labels of each MILP's dual bound (its optimum when solved). */
  readonly lower: number;
  /** The best checked example (its distance is the upper bound), or null. */
  readonly best: Checked | null;
  readonly optimal: boolean;
  readonly milps: number;
  /** Labels the relaxation excluded on the whole box (no MILP needed). */
  readonly pruned: number;
  readonly binaries: number;
  readonly boundSeconds: number;
  readonly seconds: number;
}

/** min t over a relaxation LP (t its last column), as a sound bound from the duals (0 when none). */
async function relaxationLower(lp: LpModel): Promise<number> {
  const tCol = lp.colLower.length - 1;
  const s = await openHighsLp(lp);
  try {
    const y = await s.minimize(Int32Array.of(tCol), Float64Array.of(1));
    if (!y) return 0;
    const c = new Float64Array(lp.colLower.length);
    c[tCol] = 1;
    return Math.max(0, dualBound(lp, c, y));
  } finally {
    s.close();
  }
}

/**
 * `radius`: rho_hat in model units (∞ when the restriction found nothing); `start`: its checked example.
 * The MILPs share the time limit: each gets the time left divided by the labels left.
 */
export async function exactRho(
  ctx: PointContext,
  star: Trace,
  xStar: Float64Array,
  predicted: number,
  radius: number,
  start: Checked | null,
  opts: ExactOptions,
): Promise<ExactResult> {
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const lo = ctx.pixelMin / ctx.pixelScale,
    hi = ctx.pixelMax / ctx.pixelScale;
  // Pad the radius a little: the checked example's distance is float32-rounded; the box must contain it.
  const r = Number.isFinite(radius) ? radius * (1 + 1e-6) + 1e-9 : Infinity;
  const bounds = await boxBounds(
    ctx.net,
    ctx.matrices,
    radiusBox(xStar, r, lo, hi),
    opts.tighten ? "lp" : "interval",
    Math.max(0.1, left() / 4),
  );
  const boundSeconds = (performance.now() - t0) / 1000;
  // Every LP here is the pipeline's (compiler/passes/pipeline.ts compilePoint) on these bounds: the exact mode's
  // big-M MILP or the relax mode's triangle LP, toward label l, t ≤ the radius.
  const enc = encode(ctx.net, { inputLower: lo, inputUpper: hi });
  const pointLp = (mode: "exact" | "relax", l: number, radius: number, name: string): LpModel =>
    compilePoint(
      ctx.net,
      xStar,
      {
        ...DEFAULT_OPTIONS,
        form: "layered",
        mode,
        radius,
        target: l,
        margin: 0,
        pixelScale: ctx.pixelScale,
        pixelMin: ctx.pixelMin,
        pixelMax: ctx.pixelMax,
      },
      { name, header: () => [] },
      enc,
      bounds,
    ).targets[0].lp;
  // The MILPs' binaries (one per unstable ReLU or max-pool element on these bounds), reported per point.
  const binaries = bigM(ctx.net, enc, bounds).stats.binaries;
  const ladder = marginLadder(ctx, star.logits);
  const n = xStar.length;
  let best = start,
    lower = Infinity,
    optimal = true,
    milps = 0;
  const labels = rankLabels(star.logits).slice(1);
  // One relaxation LP per label first: when it proves y_l* > y_l on the whole box, label l has nothing
  // within r (certified: compiler/lp-bounds/exclude.ts) and needs no MILP; the others share the time left.
  // For the others, the relaxation's min t (made sound from its duals) bounds that label's rho from below
  // even when its MILP runs out of time before its root node.
  const open: number[] = [],
    relaxLower = new Map<number, number>();
  for (const l of labels) {
    if ((await allPositive(ctx.net, ctx.matrices, bounds, [marginOf(predicted, l)], { open: openHighsLp })).proved) {
      lower = Math.min(lower, r);
      continue;
    }
    open.push(l);
    relaxLower.set(l, await relaxationLower(pointLp("relax", l, r, `relax_l${l}`)));
  }
  const pruned = labels.length - open.length;
  for (let i = 0; i < open.length; i++) {
    const l = open[i];
    // The best distance so far bounds this label's MILP (beyond it, it cannot matter; within r the bounds hold).
    const tMax = Math.min(r, best ? best.dist : Infinity);
    const lp = pointLp("exact", l, Number.isFinite(tMax) ? tMax : Infinity, `exact_l${l}`);
    // t is the last column; rho(f, x*, l) ≥ rho ≥ tMin, so the row cuts nothing off and lifts the MILP's bound.
    if (opts.tMin !== undefined && opts.tMin > 0) lp.colLower[lp.colLower.length - 1] = Math.min(opts.tMin, tMax);
    const budget = left() / (open.length - i);
    if (budget <= 0.01) {
      optimal = false;
      lower = Math.min(lower, relaxLower.get(l)!);
      continue;
    }
    const m = await solveMilp(lp, budget);
    milps++;
    if (m.status === "infeasible") {
      lower = Math.min(lower, tMax);
      continue;
    }
    if (m.status !== "optimal") optimal = false;
    lower = Math.min(lower, Math.max(relaxLower.get(l)!, Number.isFinite(m.dualBound) ? m.dualBound : 0));
    if (!m.x || m.objective === null) continue;
    const example = Float32Array.from(m.x.subarray(0, n));
    const dist = linf(example, xStar);
    if (best && dist >= best.dist) continue;
    let c: Checked | null = await checkExample(ctx, example, xStar, predicted);
    if (!c) {
      // Float32 tipped it back: the restricted LP of the optimiser's own region, with the raised margin.
      const tr = trace(ctx.net, Float64Array.from(m.x.subarray(0, n)));
      c = await checkedRegionLp(ctx, patternAt(tr), xStar, l, predicted, ladder, Math.max(1, left()));
    }
    if (c && (!best || c.dist < best.dist)) best = c;
  }
  // No label can be closer than the best checked example, and rho ≤ its distance.
  if (best) lower = Math.min(lower, best.dist);
  if (!Number.isFinite(lower)) lower = Number.isFinite(r) ? r : lower;
  return {
    lower,
    best,
    optimal,
    milps,
    pruned,
    binaries,
    boundSeconds,
    seconds: (performance.now() - t0) / 1000,
  };
}
