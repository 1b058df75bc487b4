// Iterative constraint solving (the paper's §4) on one growing HiGHS LP: start from the rows always needed (C_out
// and the L∞ rows), solve, add the pattern's rows the candidate violates (each nonlinear kind's `violated`),
// re-solve warm, stop when none is violated. An infeasible subset proves the restricted LP infeasible.
// Optionally inside a ball around x* and with the margin objective (the forward walk).

import {
  choicesOf,
  isNonlinear,
  semanticsOf,
  sizeOf,
  windowsOf,
  type LayerBounds,
  type RowSpec,
} from "../../compiler/index.js";
import { Region, type InputRow } from "./region.js";
import { isHighsAbort, openIncrementalLp, type IncrementalLp, type RowBatch } from "../solvers/highs.js";
import type { SolveStatus } from "../solvers/types.js";

export interface LazyOptions {
  /** Add every violated row ("all") or only the k most violated per iteration. */
  readonly add: "all" | number;
  /**
   * Which violated rows are candidates: every layer's, or only the earliest layer's that has any. Early
   * layers' rows are sparse (a conv neuron reads 25 pixels) and often prove infeasibility alone; measured on
   * mnist_lenet it cut the median time per point by about a third (bench/rho.ts). "earliest-then-all": the
   * earliest layer's on the first iteration, every layer's after — the first candidate satisfies no region row
   * and lies far from the region, where most deeper rows it violates are not needed; once near the region,
   * adding every layer's rows at once takes a few iterations instead of ~20 (the bracket's walk, modes.ts).
   */
  readonly scope: "all-layers" | "earliest-layer" | "earliest-then-all";
  /** A pool row counts as violated when it is off by more than this (model units). */
  readonly tolerance: number;
  readonly timeLimit: number;
  readonly maxIterations: number;
  /**
   * A solve that follows the addition of at least this many rows uses HiGHS' interior point method (with
   * crossover, so the basis stays available for the next warm dual simplex) instead of the warm dual simplex:
   * after thousands of new dense rows the old basis is of little use. Measured on 8 mnist_lenet points (all
   * infeasible): median 1.56 s with dual simplex, 0.54 s with IPM; on mnist_mlp (all optimal, fewer rows per
   * step) warm simplex stays faster (0.095 s against 0.224 s with IPM for every solve). Infinity: never.
   */
  readonly ipmRows: number;
  /** The dual simplex prices by devex weights (highs.ts IncrementalLp.solve); HiGHS' own choice otherwise. */
  readonly devex?: boolean;
  /**
   * Leave out the rows |x_i − x*_i| ≤ t that the column bounds imply: x_i + t ≥ x*_i where x_i's lower bound is
   * x*_i itself (a pixel of x* at the box's lower end), x_i − t ≤ x*_i where its upper bound is. The same LP with
   * fewer rows (most of an MNIST digit's pixels are 0; the warm re-solves run no presolve to drop them).
   */
  readonly skipImpliedLinf?: boolean;
}

export const DEFAULT_LAZY: LazyOptions = {
  add: "all",
  scope: "earliest-layer",
  tolerance: 1e-8,
  timeLimit: 60,
  maxIterations: 10_000,
  ipmRows: 1000,
};

export interface LazyProblem {
  readonly region: Region;
  readonly xStar: Float64Array;
  readonly target: number;
  /** C_out margin alpha (model logit units). */
  readonly margin: number;
  /** Input box in model units. */
  readonly lower: number;
  readonly upper: number;
  /**
   * The ball ‖x − x*‖∞ ≤ radius (model units): t ≤ radius and x within it. The LP is then the restricted LP
   * inside the ball — infeasible when its optimum lies beyond. With `ballBounds` (sound bounds of every layer
   * over that ball), a row that the bounds imply — a ReLU or max-pool window the ball keeps stable — is never
   * added: every candidate lies in the ball, where it holds. Such rows are counted in rowsPruned.
   */
  readonly radius?: number;
  readonly ballBounds?: readonly LayerBounds[];
  /**
   * distance (default): min t = ‖x − x*‖∞ subject to y_target − y_l ≥ margin. margin: max s subject to
   * y_target − y_l ≥ s for every l ≠ target, inside the ball (radius required; no distance rows) — how far
   * the region ∩ ball goes toward the target (the forward walk). The result's t is then s.
   */
  readonly objective?: "distance" | "margin";
}

export interface LazyResult {
  readonly status: SolveStatus;
  /** Optimal t in model units (‖x − x*‖∞), null unless optimal. */
  readonly t: number | null;
  readonly x: Float64Array | null;
  readonly iterations: number;
  /** Rows in the final LP: always-needed + added. */
  readonly rows: number;
  readonly rowsAdded: number;
  /** Violated rows (by more than the tolerance) left out because the ball's bounds imply them. */
  readonly rowsPruned: number;
  /** Largest violation of a pool row by the final x (≤ tolerance when optimal). */
  readonly poolViolation: number;
  readonly solverSeconds: number;
  readonly seconds: number;
  readonly message?: string;
}

/** Pool rows the region's affine values at x violate (each nonlinear kind's `violated`), over layer values. */
export function violatedRows(region: Region, vals: readonly Float64Array[], tol: number): RowSpec[] {
  const out: RowSpec[] = [];
  for (const l of region.net.layers) {
    if (!isNonlinear(l)) continue;
    semanticsOf(l).violated(l, windowsOf(l), vals[l.input], choicesOf(region.pattern, l.id), tol, out);
  }
  return out;
}

/** Rows a·x + c ∈ [lower, upper] as a row batch over columns (x, t). */
function rowBatch(rows: { row: InputRow; lower: number; upper: number }[]): RowBatch {
  const starts = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => {
    starts[i + 1] = starts[i] + r.row.idx.length;
  });
  const indices = new Int32Array(starts[rows.length]),
    values = new Float64Array(starts[rows.length]);
  const lower = new Float64Array(rows.length),
    upper = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    indices.set(r.row.idx, starts[i]);
    values.set(r.row.val, starts[i]);
    lower[i] = r.lower === -Infinity ? -Infinity : r.lower - r.row.c;
    upper[i] = r.upper === Infinity ? Infinity : r.upper - r.row.c;
  });
  return { starts, indices, values, lower, upper };
}

export async function solveLazy(p: LazyProblem, opts: LazyOptions = DEFAULT_LAZY): Promise<LazyResult> {
  const t0 = performance.now();
  const { region } = p;
  const n = p.xStar.length;
  let model: IncrementalLp | null = null;
  let iterations = 0,
    rowsAdded = 0,
    solverSeconds = 0,
    rows = 0,
    rowsPruned = 0;
  const done = (status: SolveStatus, extra: Partial<LazyResult> = {}): LazyResult => ({
    status,
    t: null,
    x: null,
    iterations,
    rows,
    rowsAdded,
    rowsPruned,
    poolViolation: Infinity,
    solverSeconds,
    seconds: (performance.now() - t0) / 1000,
    ...extra,
  });
  try {
    const colLower = new Float64Array(n + 1),
      colUpper = new Float64Array(n + 1),
      cost = new Float64Array(n + 1);
    const R = p.radius ?? Infinity;
    const byMargin = p.objective === "margin";
    if (byMargin && !Number.isFinite(R)) throw new Error("internal: the margin objective needs a ball");
    for (let i = 0; i < n; i++) {
      colLower[i] = Math.max(p.lower, p.xStar[i] - R);
      colUpper[i] = Math.min(p.upper, p.xStar[i] + R);
    }
    if (byMargin) {
      colLower[n] = -Infinity;
      colUpper[n] = Infinity;
      cost[n] = -1;
    } else {
      colLower[n] = 0;
      colUpper[n] = R;
      cost[n] = 1;
    }
    model = await openIncrementalLp({ lower: colLower, upper: colUpper, cost }, opts.timeLimit);
    // Always-needed rows: |x − x*| ≤ t (distance objective; optionally without those the column bounds imply,
    // t ≥ 0 being one), and C_out(target): y_target − y_l' ≥ margin (or ≥ s, the margin objective's column).
    const linf: { row: InputRow; lower: number; upper: number }[] = [];
    const skip = opts.skipImpliedLinf ?? false;
    for (let i = 0; i < n && !byMargin; i++) {
      const row = { idx: Int32Array.of(i, n), val: Float64Array.of(1, 1), c: 0 };
      if (!skip || colLower[i] < p.xStar[i]) linf.push({ row, lower: p.xStar[i], upper: Infinity });
      if (!skip || colUpper[i] > p.xStar[i])
        linf.push({ row: { ...row, val: Float64Array.of(1, -1) }, lower: -Infinity, upper: p.xStar[i] });
    }
    const net = region.net;
    const outLayer = net.output,
      nOut = sizeOf(net.layers[outLayer].shape);
    for (let k = 0; k < nOut; k++) {
      if (k === p.target) continue;
      const row = region.rowFor(outLayer, [p.target, k], [1, -1]);
      linf.push(
        byMargin
          ? {
              row: { idx: Int32Array.from([...row.idx, n]), val: Float64Array.from([...row.val, -1]), c: row.c },
              lower: 0,
              upper: Infinity,
            }
          : { row, lower: p.margin, upper: Infinity },
      );
    }
    model.addRows(rowBatch(linf));
    rows = linf.length;
    let poolViolation = Infinity,
      fresh = 0;
    for (;;) {
      if (iterations >= opts.maxIterations)
        return done("error", { message: `no convergence in ${opts.maxIterations} iterations` });
      const remaining = opts.timeLimit - (performance.now() - t0) / 1000;
      if (remaining <= 0) return done("timeout", { message: `time limit ${opts.timeLimit} s` });
      const ipm = fresh >= opts.ipmRows;
      const s0 = performance.now();
      // (HiGHS can end a warm re-solve in status "unknown"; the solver module re-solves it cold once: seen on
      // mnist_lenet with --add 200.)
      const st = model.solve({ timeLimit: remaining, ipm, devex: opts.devex ?? false });
      fresh = 0;
      solverSeconds += (performance.now() - s0) / 1000;
      iterations++;
      if (st.status !== "optimal") return done(st.status, { message: st.message });
      const x = st.x!.slice(0, n);
      const vals = region.forward(x);
      let viol = violatedRows(region, vals, opts.tolerance);
      if (p.ballBounds) {
        const kept = viol.filter((v) => !impliedBy(p.ballBounds![v.layer], v));
        rowsPruned += viol.length - kept.length;
        viol = kept;
      }
      if (viol.length === 0) {
        poolViolation = maxPoolViolation(region, vals);
        return done("optimal", { t: st.x![n], x, poolViolation });
      }
      let pool = viol;
      if (opts.scope === "earliest-layer" || (opts.scope === "earliest-then-all" && iterations === 1)) {
        const first = Math.min(...viol.map((v) => v.layer));
        pool = viol.filter((v) => v.layer === first);
      }
      const chosen = opts.add === "all" ? pool : pool.sort((a, b) => b.amount - a.amount).slice(0, opts.add);
      model.addRows(
        rowBatch(chosen.map((c) => ({ row: region.rowFor(c.layer, c.js, c.ws), lower: c.lower, upper: c.upper }))),
      );
      rowsAdded += chosen.length;
      rows += chosen.length;
      fresh += chosen.length;
    }
  } catch (e) {
    return done("error", {
      message: isHighsAbort(e)
        ? `HiGHS aborted: ${(e as Error).message}`
        : `lazy loop failed: ${e instanceof Error ? e.message : String(e)}`,
    });
  } finally {
    model?.dispose();
  }
}

/** Whether bounds of a layer's values imply the row Σ ws·value_js ∈ [lower, upper] (interval arithmetic). */
export function impliedBy(b: LayerBounds, r: RowSpec): boolean {
  let lo = 0,
    hi = 0;
  for (let k = 0; k < r.js.length; k++) {
    const w = r.ws[k],
      l = b.lower[r.js[k]],
      u = b.upper[r.js[k]];
    lo += w >= 0 ? w * l : w * u;
    hi += w >= 0 ? w * u : w * l;
  }
  return lo >= r.lower && hi <= r.upper;
}

/** The largest violation of any pool row at the region's values (0 inside the region). */
export function maxPoolViolation(region: Region, vals: readonly Float64Array[]): number {
  let worst = 0;
  for (const c of violatedRows(region, vals, 0)) worst = Math.max(worst, c.amount);
  return worst;
}
